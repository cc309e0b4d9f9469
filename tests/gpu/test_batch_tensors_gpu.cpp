// tools/batch_tensors on CUDA: the sampled view gathered on the device from the teacher's uint8 frames
// equals the CPU's copied view bit for bit, as `train` and `bench train` use it in distillation.
#include <catch2/catch.hpp>

#include "gpu/gpu_compare.h"
#include "support/two_view_batch.h"
#include "tools/batch_tensors.h"

namespace ff {

TEST_CASE("the gathered sampled view on the GPU equals the CPU's copied view", "[gpu][batch_tensors]") {
  test::PoisonAllocations poison;
  const data::YouTube8MLayout layout = test::two_view_layout();
  const std::vector<int32_t> counts = {300, 17, 1, 299, 64, 2, 150, 300};
  models::TrainingBatch cpu =
      tools::training_batch(test::two_view_batch(counts, 300, 30, true), layout, "all", "sampled", Device::cpu());
  models::TrainingBatch gpu =
      tools::training_batch(test::two_view_batch(counts, 300, 30, false), layout, "all", "sampled", Device::cuda());
  CHECK(gpu.sampled.rgb.to(Device::cpu()).to_vector<float>() == cpu.sampled.rgb.to_vector<float>());
  CHECK(gpu.sampled.audio.to(Device::cpu()).to_vector<float>() == cpu.sampled.audio.to_vector<float>());
  CHECK(gpu.full.rgb.to(Device::cpu()).to_vector<float>() == cpu.full.rgb.to_vector<float>());
  CHECK(gpu.sampled.frame_counts == cpu.sampled.frame_counts);
}

}  // namespace ff
