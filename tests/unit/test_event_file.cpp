// TensorBoard event files: what the writer appends reads back, and the bytes on the wire carry
// TensorFlow's field numbers (checked by hand, not through the same .proto).
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>

#include "data/event_file.h"
#include "data/tfrecord.h"
#include "support/temporary_directory.h"

namespace ff::data {

TEST_CASE("event files read back and carry TensorFlow's wire format", "[events]") {
  test::TemporaryDirectory directory("ff_event_test");
  const std::string run = directory.file("run/tb");
  std::string path;
  {
    EventFileWriter writer(run);
    path = writer.path();
    writer.add_scalars({{"loss", 0.5}, {"validation/gap", 0.25}}, 3);
    writer.add_scalars({{"loss", 0.375}}, 7);
  }
  CHECK(std::filesystem::path(path).filename().string().rfind("events.out.tfevents.", 0) == 0);
  CHECK(std::filesystem::path(path).parent_path() == std::filesystem::path(run));

  std::vector<ScalarEvent> events = read_scalar_events(path);
  REQUIRE(events.size() == 3);
  CHECK(events[0].tag == "loss");
  CHECK(events[0].step == 3);
  CHECK(events[0].value == 0.5f);
  CHECK(events[1].tag == "validation/gap");
  CHECK(events[1].value == 0.25f);
  CHECK(events[2].step == 7);
  CHECK(events[2].value == 0.375f);
  CHECK(events[0].wall_time > 1.6e9);

  // The raw records: version first ("brain.Event:2" in field 3), then step 3's summary in field 5.
  TFRecordReader reader(path);
  std::string_view record;
  REQUIRE(reader.next(record));
  REQUIRE(record.size() == 9 + 2 + 13);
  CHECK(uint8_t(record[0]) == 0x09);  // field 1 (wall_time), wire type 1 (64-bit)
  CHECK(uint8_t(record[9]) == 0x1a);  // field 3 (file_version), length-delimited
  CHECK(record.substr(11) == "brain.Event:2");
  REQUIRE(reader.next(record));
  CHECK(uint8_t(record[9]) == 0x10);   // field 2 (step), varint
  CHECK(uint8_t(record[10]) == 3);
  CHECK(uint8_t(record[11]) == 0x2a);  // field 5 (summary), length-delimited
  // Summary.value (field 1, 11 bytes) { tag (field 1) = "loss", simple_value (field 2, 32-bit) = 0.5f }
  const unsigned char expected[] = {0x0a, 0x0b, 0x0a, 0x04, 'l', 'o', 's', 's', 0x15, 0x00, 0x00, 0x00, 0x3f};
  std::string_view summary = record.substr(13);
  REQUIRE(summary.size() >= sizeof expected);
  CHECK(std::memcmp(summary.data(), expected, sizeof expected) == 0);
}

TEST_CASE("a file that is not an event file is rejected with its name", "[events]") {
  test::TemporaryDirectory directory("ff_event_test");
  const std::string path = directory.file("not_events.tfrecord");
  TFRecordWriter writer(path);
  writer.write("\x0a\x02hi");
  writer.close();
  CHECK_THROWS_WITH(read_scalar_events(path), Catch::Matchers::Contains(path) &&
                                                  Catch::Matchers::Contains("file version"));
}

}  // namespace ff::data
