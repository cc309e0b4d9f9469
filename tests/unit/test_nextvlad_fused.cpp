// The fused NeXtVLAD path (nextvlad_assignment + nextvlad_aggregation) against the composed path of generic
// ops on the CPU: the same block weights and inputs give the same output, input gradient, parameter
// gradients and batch-norm running statistics, at several shapes (odd sizes, K above a 32-wide tile, padded
// frames, a video without frames), in training and inference, with padded frames in and out of the
// cluster batch norm's statistics.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "models/nextvlad_block.h"
#include "op_cases/gradient_check.h"

namespace ff {
namespace {

struct BlockCase {
  const char* name;
  NeXtVladBlockShape shape;
  std::vector<int32_t> frame_counts;  // one per video; the input has max(frame_counts) + 1 frames
};

struct BlockRun {
  Tensor output, frames_grad;
  std::map<std::string, Tensor> tensors;  // parameter gradients ("<name>.grad") and buffers after the run
};

Tensor frame_mask(const std::vector<int32_t>& counts, int64_t length, DType dtype) {
  std::vector<double> mask;
  for (int32_t count : counts)
    for (int64_t f = 0; f < length; ++f) mask.push_back(f < count ? 1.0 : 0.0);
  return Tensor::from_vector(mask, {int64_t(counts.size()), length}).to(dtype);
}

// Builds the block from a fixed seed, moves every parameter and buffer away from its initial value (zero
// biases, unit gammas, unit running variances), runs forward and backward on `path`.
BlockRun run_block(const BlockCase& c, NeXtVladPath path, DType dtype, bool training, bool bn_excludes_padding) {
  ParameterSet parameters;
  Generator init(41);
  ModelInit model_init{parameters, init, dtype, Device::cpu()};
  NeXtVladBlock block("video_vlad", c.shape, model_init);
  block.set_path(path);
  Generator noise(42);
  for (Parameter& p : parameters.all()) {
    bool variance = p.name.ends_with("running_var");
    Tensor shift = Tensor::uniform(p.value.shape(), variance ? 0.5 : -0.3, variance ? 1.5 : 0.3, noise, dtype);
    add_(p.value, shift);
  }

  int64_t length = 1;
  for (int32_t count : c.frame_counts) length = std::max<int64_t>(length, count + 1);
  const int64_t batch = int64_t(c.frame_counts.size());
  Generator input(43);
  Tensor frames = Tensor::normal({batch, length, c.shape.feature_size}, 0.0, 1.0, input, dtype);
  frames.set_requires_grad();
  BatchNormOptions options;
  options.momentum = 0.9;
  options.epsilon = 1e-2;

  BlockRun run;
  run.output = block.forward(frames, frame_mask(c.frame_counts, length, dtype), training, bn_excludes_padding, options);
  test::weighted_objective(run.output, 44).backward();
  run.frames_grad = frames.grad();
  for (const Parameter& p : parameters.all()) {
    if (p.trainable) {
      REQUIRE(p.value.grad().defined());
      run.tensors[p.name + ".grad"] = p.value.grad();
    } else {
      run.tensors[p.name] = p.value;
    }
  }
  return run;
}

void check_close(const std::string& what, const Tensor& fused, const Tensor& composed, double tolerance) {
  double error = test::relative_error(fused, composed);
  INFO(what << " relative error " << error);
  CHECK(error < tolerance);  // NaN fails
}

void compare_paths(const BlockCase& c, DType dtype, double tolerance) {
  for (bool training : {true, false})
    for (bool bn_excludes_padding : {true, false}) {
      INFO(c.name << " " << dtype_name(dtype) << " training " << training << " bn_excludes_padding "
                  << bn_excludes_padding);
      BlockRun fused = run_block(c, NeXtVladPath::Fused, dtype, training, bn_excludes_padding);
      BlockRun composed = run_block(c, NeXtVladPath::Composed, dtype, training, bn_excludes_padding);
      check_close("output", fused.output, composed.output, tolerance);
      check_close("frames gradient", fused.frames_grad, composed.frames_grad, tolerance);
      REQUIRE(fused.tensors.size() == composed.tensors.size());
      REQUIRE(fused.tensors.size() == 14);  // 10 trainable tensors, 4 running statistics
      for (const auto& [name, tensor] : composed.tensors) check_close(name, fused.tensors.at(name), tensor, tolerance);
    }
}

const std::vector<BlockCase> kCases = {
    {"small", {6, 4, 2, 2}, {5, 2, 1}},
    {"odd sizes (lambda 3, G 3, D_g 7)", {7, 5, 3, 3}, {3, 4}},
    {"K = 37, beyond one 32-wide tile", {8, 37, 4, 2}, {1, 3, 2}},
    {"a video without frames", {6, 3, 2, 2}, {0, 3, 2}},
    {"one group", {5, 6, 1, 2}, {2, 2}},
};

}  // namespace

TEST_CASE("fused NeXtVLAD equals the composed path (float64): output, every gradient, running statistics",
          "[nextvlad][fused]") {
  for (const BlockCase& c : kCases) compare_paths(c, DType::Float64, 1e-10);
}

TEST_CASE("fused NeXtVLAD equals the composed path (float32)", "[nextvlad][fused]") {
  for (const BlockCase& c : kCases) compare_paths(c, DType::Float32, 1e-5);
  compare_paths({"wider (N 64, K 32, G 8, 40 frames)", {64, 32, 8, 2}, {40, 17, 3, 33}}, DType::Float32, 1e-5);
}

TEST_CASE("the fused path is the default", "[nextvlad][fused]") {
  ParameterSet parameters;
  Generator init(1);
  ModelInit model_init{parameters, init, DType::Float32, Device::cpu()};
  NeXtVladBlock block("video_vlad", {6, 4, 2, 2}, model_init);
  CHECK(block.path() == NeXtVladPath::Fused);
  block.set_path(NeXtVladPath::Composed);
  CHECK(block.path() == NeXtVladPath::Composed);
}

}  // namespace ff
