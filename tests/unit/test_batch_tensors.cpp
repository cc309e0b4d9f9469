// tools/batch_tensors: a sampled view delivered as frame indices and gathered from the full view on the
// device gives exactly the tensors of the same view copied by the loader; bad indices are refused.
#include <catch2/catch.hpp>

#include <utility>

#include "support/two_view_batch.h"
#include "tools/batch_tensors.h"

namespace ff {
namespace {

using Catch::Matchers::Contains;

std::vector<float> host_floats(const Tensor& t) { return t.to(Device::cpu()).to_vector<float>(); }

}  // namespace

TEST_CASE("a sampled view gathered from the full view equals the copied view bit for bit", "[batch_tensors]") {
  const std::vector<int32_t> counts = {9, 3, 1, 12, 6};  // 12 > capacity: capped; 1 and 3: padding slots
  const data::YouTube8MLayout layout = test::two_view_layout();
  models::TrainingBatch copied =
      tools::training_batch(test::two_view_batch(counts, 10, 4, true), layout, "all", "sampled", Device::cpu());
  models::TrainingBatch gathered =
      tools::training_batch(test::two_view_batch(counts, 10, 4, false), layout, "all", "sampled", Device::cpu());
  CHECK(gathered.sampled.rgb.shape() == Shape{5, 4, 12});
  CHECK(gathered.sampled.audio.shape() == Shape{5, 4, 5});
  CHECK(host_floats(gathered.sampled.rgb) == host_floats(copied.sampled.rgb));
  CHECK(host_floats(gathered.sampled.audio) == host_floats(copied.sampled.audio));
  CHECK(gathered.sampled.frame_counts == copied.sampled.frame_counts);
  CHECK(gathered.sampled.frame_counts == std::vector<int32_t>{4, 2, 1, 4, 3});
  CHECK(host_floats(gathered.full.rgb) == host_floats(copied.full.rgb));
  CHECK(host_floats(gathered.labels) == host_floats(copied.labels));
}

TEST_CASE("a sampled view without frames needs the full view and indices it has", "[batch_tensors]") {
  const data::YouTube8MLayout layout = test::two_view_layout();
  // Video 0: 5 frames, sampled 0, 2, 4. Video 1: 3 frames, sampled 0, 2 and one padding slot.
  const data::Batch good = test::two_view_batch({5, 3}, 8, 3, false);
  REQUIRE(good.views[1].frame_indices == std::vector<int32_t>{0, 2, 4, 0, 2, -1});
  CHECK_NOTHROW(tools::training_batch(good, layout, "all", "sampled", Device::cpu()));
  CHECK_THROWS_WITH(tools::training_batch(good, layout, "", "sampled", Device::cpu()),
                    Contains("frame indices only") && Contains("no full view"));
  data::Batch bad = good;
  bad.views[1].frame_indices[1] = 5;
  CHECK_THROWS_WITH(tools::training_batch(bad, layout, "all", "sampled", Device::cpu()),
                    Contains("view 'sampled' video 0 slot 1 holds frame 5, which view 'all' (5 frames"));
  bad = good;
  bad.views[1].frame_indices[5] = 1;
  CHECK_THROWS_WITH(tools::training_batch(bad, layout, "all", "sampled", Device::cpu()),
                    Contains("video 1 slot 2 holds frame 1 in a padding slot (the video has 2 sampled frames)"));
  bad = good;
  bad.views[1].frame_indices.pop_back();
  CHECK_THROWS_WITH(tools::training_batch(bad, layout, "all", "sampled", Device::cpu()),
                    Contains("holds 5 frame indices, expected 6"));
  bad = good;
  bad.views[1].frame_counts.pop_back();
  CHECK_THROWS_WITH(tools::training_batch(bad, layout, "all", "sampled", Device::cpu()),
                    Contains("view 'sampled' holds 1 frame counts, expected 2"));
  bad = good;
  std::swap(bad.views[0].frame_indices[2], bad.views[0].frame_indices[4]);  // the full view is not in frame order
  CHECK_THROWS_WITH(tools::training_batch(bad, layout, "all", "sampled", Device::cpu()),
                    Contains("video 0 slot 1 holds frame 2") && Contains("does not have in slot 2"));
}

}  // namespace ff
