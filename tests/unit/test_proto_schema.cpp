// The schema's wire format against bytes written out by hand from the protobuf encoding rules.
#include <catch2/catch.hpp>

#include "data/proto/example.pb.h"

namespace ff::data {

TEST_CASE("the Example schema encodes with TensorFlow's field numbers", "[data][proto]") {
  proto::Example example;
  (*example.mutable_features()->mutable_feature())["id"].mutable_bytes_list()->add_value("ab");
  std::string bytes;
  REQUIRE(example.SerializeToString(&bytes));
  // Example.features (1, LEN) { Features.feature (1, LEN) { key (1) "id", value (2) Feature {
  //   bytes_list (1, LEN) { value (1) "ab" } } } }
  const std::string expected("\x0a\x0e\x0a\x0c\x0a\x02id\x12\x06\x0a\x04\x0a\x02" "ab", 16);
  CHECK(bytes == expected);

  proto::SequenceExample sequence;
  REQUIRE(sequence.ParseFromString(bytes + std::string("\x12\x00", 2)));  // feature_lists, empty
  CHECK(sequence.context().feature().at("id").bytes_list().value(0) == "ab");
}

}  // namespace ff::data
