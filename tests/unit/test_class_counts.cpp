#include <catch2/catch.hpp>
#include <numeric>

#include "data/youtube8m_class_counts.h"

TEST_CASE("the built-in class counts are YouTube-8M 2018's", "[data][vocabulary]") {
  const std::vector<int64_t>& counts = ff::data::youtube8m_class_counts();
  REQUIRE(counts.size() == 3862);
  CHECK(counts[0] == 788288);  // Game
  CHECK(std::accumulate(counts.begin(), counts.end(), int64_t(0)) == 11711620);
  CHECK(*std::min_element(counts.begin(), counts.end()) > 0);
}
