#include <catch2/catch.hpp>

#include "engine/progress.h"

TEST_CASE("progress lines show count, rate and ETA", "[progress]") {
  using ff::Progress;
  CHECK(Progress::format_line("make-data", 1200, 2500, "videos", 2.0, false) ==
        "make-data: 1,200/2,500 videos (48%), 600 videos/s, ETA 2s");
  CHECK(Progress::format_line("inspect", 5, 0, "records", 10.0, false) == "inspect: 5 records, 0.5 records/s");
  CHECK(Progress::format_line("train", 1234567, 2000000, "videos", 125.0, true) ==
        "train: 1,234,567/2,000,000 videos (61%), 9877 videos/s, 2m5s");
  CHECK(Progress::format_line("x", 10, 1000, "steps", 1.0, false) == "x: 10/1,000 steps (1%), 10.0 steps/s, ETA 1m39s");
}
