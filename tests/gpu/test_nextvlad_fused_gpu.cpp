// The fused NeXtVLAD ops on CUDA against the CPU reference at training sizes and odd ones: outputs, running
// statistics and every gradient, with every allocation poisoned with NaN so that an element a kernel forgets
// to write fails the comparison; repeated runs agree bit for bit; a whole block on CUDA matches the CPU.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "gpu/gpu_compare.h"
#include "models/nextvlad_block.h"

namespace ff::test {
namespace {

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  std::vector<float> va = a.to(Device::cpu()).to_vector<float>(), vb = b.to(Device::cpu()).to_vector<float>();
  return va.size() == vb.size() && std::equal(va.begin(), va.end(), vb.begin(), [](float x, float y) {
           return std::memcmp(&x, &y, sizeof x) == 0;
         });
}

// A frame mask [videos * frames] as the batcher makes it: each video's first frame_count frames are real,
// frame counts drawn in [1, frames] (one video full length, one with a single frame).
Tensor frame_mask(int64_t videos, int64_t frames, uint64_t seed, DType dtype) {
  Generator generator(seed);
  std::vector<double> u = Tensor::uniform({videos}, 0, 1, generator, DType::Float64).to_vector<double>();
  std::vector<double> mask;
  for (int64_t b = 0; b < videos; ++b) {
    int64_t count = b == 0 ? frames : b == 1 ? 1 : 1 + int64_t(u[size_t(b)] * double(frames - 1));
    for (int64_t f = 0; f < frames; ++f) mask.push_back(f < count ? 1.0 : 0.0);
  }
  return Tensor::from_vector(mask, {videos * frames}).to(dtype);
}

struct AssignmentSize {
  int64_t videos, frames, groups, clusters;
};

struct AssignmentInputs {
  Tensor logits, attention_logits, mask, gamma, beta, running_mean, running_var;
};

AssignmentInputs assignment_inputs(const AssignmentSize& s, DType dtype, uint64_t seed) {
  Generator generator(seed);
  const int64_t rows = s.videos * s.frames, channels = s.groups * s.clusters;
  AssignmentInputs in;
  // A mean far from 0 relative to the spread, as GEMM outputs of unnormalised features have.
  in.logits = Tensor::normal({rows, channels}, 3.0, 2.0, generator, dtype);
  in.attention_logits = Tensor::normal({rows, s.groups}, 0.0, 2.0, generator, dtype);
  in.gamma = Tensor::normal({channels}, 1.0, 0.3, generator, dtype);
  in.beta = Tensor::normal({channels}, 0.0, 1.0, generator, dtype);
  in.running_mean = Tensor::normal({channels}, 3.0, 1.0, generator, dtype);
  in.running_var = Tensor::uniform({channels}, 2.0, 6.0, generator, dtype);
  in.mask = frame_mask(s.videos, s.frames, seed + 1, dtype);
  return in;
}

struct AssignmentRun {
  Tensor out, running_mean, running_var, dlogits, dattention, dgamma, dbeta;
};

AssignmentRun run_assignment(const AssignmentInputs& in, bool training, bool exclude_padding, Device device,
                             uint64_t seed) {
  Tensor logits = fresh_copy(in.logits, device, true), attention = fresh_copy(in.attention_logits, device, true);
  Tensor gamma = fresh_copy(in.gamma, device, true), beta = fresh_copy(in.beta, device, true);
  AssignmentRun run;
  run.running_mean = fresh_copy(in.running_mean, device);
  run.running_var = fresh_copy(in.running_var, device);
  run.out = nextvlad_assignment(logits, attention, fresh_copy(in.mask, device), gamma, beta, run.running_mean,
                                run.running_var, training, exclude_padding);
  weighted_objective(run.out, seed).backward();
  run.dlogits = logits.grad();
  run.dattention = attention.grad();
  run.dgamma = gamma.grad();
  run.dbeta = beta.grad();
  return run;
}

struct AggregationSize {
  int64_t videos, rows, clusters, features;
};

struct AggregationInputs {
  Tensor assignment, features, centres;
};

AggregationInputs aggregation_inputs(const AggregationSize& s, DType dtype, uint64_t seed) {
  Generator generator(seed);
  AggregationInputs in;
  // Assignments of the size softmax times attention gives: about 1 / K each.
  in.assignment = Tensor::uniform({s.videos, s.rows, s.clusters}, 0.0, 2.0 / double(s.clusters), generator, dtype);
  in.features = Tensor::normal({s.videos, s.rows, s.features}, 0.0, 1.0, generator, dtype);
  in.centres = Tensor::normal({s.features, s.clusters}, 0.0, 0.1, generator, dtype);
  return in;
}

struct AggregationRun {
  Tensor vlad, dassignment, dfeatures, dcentres;
};

AggregationRun run_aggregation(const AggregationInputs& in, Device device, uint64_t seed) {
  Tensor assignment = fresh_copy(in.assignment, device, true), features = fresh_copy(in.features, device, true);
  Tensor centres = fresh_copy(in.centres, device, true);
  AggregationRun run;
  run.vlad = nextvlad_aggregation(assignment, features, centres);
  weighted_objective(run.vlad, seed).backward();
  run.dassignment = assignment.grad();
  run.dfeatures = features.grad();
  run.dcentres = centres.grad();
  return run;
}

void check_aggregation_close(const AggregationRun& gpu, const AggregationRun& cpu, double tolerance) {
  check_close("vlad", gpu.vlad, cpu.vlad, tolerance);
  check_close("dassignment", gpu.dassignment, cpu.dassignment, tolerance);
  check_close("dfeatures", gpu.dfeatures, cpu.dfeatures, tolerance);
  check_close("dcentres", gpu.dcentres, cpu.dcentres, tolerance);
}

}  // namespace

TEST_CASE("nextvlad_assignment on CUDA matches the CPU reference", "[gpu][nextvlad_fused]") {
  PoisonAllocations poison;
  // A student batch of the default model (k = 30), the audio block's K and G, the demo's K 16 and G 4 (fewer
  // clusters than lanes), odd sizes, and K > 256 (more than eight clusters per lane).
  for (AssignmentSize size : {AssignmentSize{160, 30, 8, 128}, AssignmentSize{16, 300, 4, 64},
                              AssignmentSize{32, 150, 4, 16},
                              AssignmentSize{7, 11, 3, 37}, AssignmentSize{3, 5, 2, 257}, AssignmentSize{1, 1, 1, 1}}) {
    for (bool training : {true, false})
      for (bool exclude_padding : {true, false}) {
        INFO("videos " << size.videos << " frames " << size.frames << " G " << size.groups << " K " << size.clusters
                       << " training " << training << " exclude_padding " << exclude_padding);
        AssignmentInputs in = assignment_inputs(size, DType::Float32, 17);
        AssignmentRun cpu = run_assignment(in, training, exclude_padding, Device::cpu(), 17);
        AssignmentRun gpu = run_assignment(in, training, exclude_padding, Device::cuda(), 17);
        check_close("out", gpu.out, cpu.out, kFloat32Tolerance);
        check_close("running_mean", gpu.running_mean, cpu.running_mean, kFloat32Tolerance);
        check_close("running_var", gpu.running_var, cpu.running_var, kFloat32Tolerance);
        check_close("dlogits", gpu.dlogits, cpu.dlogits, kFloat32Tolerance);
        check_close("dattention", gpu.dattention, cpu.dattention, kFloat32Tolerance);
        check_close("dgamma", gpu.dgamma, cpu.dgamma, kFloat32Tolerance);
        check_close("dbeta", gpu.dbeta, cpu.dbeta, kFloat32Tolerance);
      }
  }
}

TEST_CASE("nextvlad_aggregation on CUDA matches the CPU reference", "[gpu][nextvlad_fused]") {
  PoisonAllocations poison;
  // 16 teacher videos of the rgb block (300 frames x 8 groups, K 128, D 256), a student batch of the audio
  // block (30 x 4, K 64, D 64), the demo's rgb block (150 x 4, K 16, D 256), odd sizes, K across two tiles,
  // one row.
  for (AggregationSize size : {AggregationSize{16, 2400, 128, 256}, AggregationSize{160, 120, 64, 64},
                               AggregationSize{32, 600, 16, 256},
                               AggregationSize{3, 7, 37, 19}, AggregationSize{5, 33, 65, 3},
                               AggregationSize{2, 1, 1, 1}}) {
    INFO("videos " << size.videos << " rows " << size.rows << " K " << size.clusters << " D " << size.features);
    AggregationInputs in = aggregation_inputs(size, DType::Float32, 19);
    AggregationRun cpu = run_aggregation(in, Device::cpu(), 19);
    AggregationRun gpu = run_aggregation(in, Device::cuda(), 19);
    check_aggregation_close(gpu, cpu, kFloat32Tolerance);
  }
}

TEST_CASE("the fused NeXtVLAD ops on CUDA in float64 match the CPU reference", "[gpu][nextvlad_fused]") {
  PoisonAllocations poison;
  AssignmentInputs a = assignment_inputs({9, 13, 3, 37}, DType::Float64, 5);
  AssignmentRun cpu_a = run_assignment(a, true, true, Device::cpu(), 5);
  AssignmentRun gpu_a = run_assignment(a, true, true, Device::cuda(), 5);
  check_close("out", gpu_a.out, cpu_a.out, 1e-12);
  check_close("dlogits", gpu_a.dlogits, cpu_a.dlogits, 1e-12);
  check_close("dattention", gpu_a.dattention, cpu_a.dattention, 1e-12);
  check_close("dgamma", gpu_a.dgamma, cpu_a.dgamma, 1e-12);

  AggregationInputs g = aggregation_inputs({4, 39, 37, 21}, DType::Float64, 6);
  AggregationRun cpu_g = run_aggregation(g, Device::cpu(), 6);
  AggregationRun gpu_g = run_aggregation(g, Device::cuda(), 6);
  check_aggregation_close(gpu_g, cpu_g, 1e-12);
}

TEST_CASE("the fused NeXtVLAD ops on CUDA are deterministic", "[gpu][nextvlad_fused]") {
  PoisonAllocations poison;
  AssignmentInputs a = assignment_inputs({32, 300, 8, 128}, DType::Float32, 23);
  AssignmentRun first_a = run_assignment(a, true, true, Device::cuda(), 23);
  AssignmentRun second_a = run_assignment(a, true, true, Device::cuda(), 23);
  CHECK(bitwise_equal(first_a.out, second_a.out));
  CHECK(bitwise_equal(first_a.dlogits, second_a.dlogits));
  CHECK(bitwise_equal(first_a.dgamma, second_a.dgamma));
  CHECK(bitwise_equal(first_a.running_var, second_a.running_var));

  AggregationInputs g = aggregation_inputs({16, 2400, 128, 256}, DType::Float32, 29);
  AggregationRun first_g = run_aggregation(g, Device::cuda(), 29);
  AggregationRun second_g = run_aggregation(g, Device::cuda(), 29);
  CHECK(bitwise_equal(first_g.vlad, second_g.vlad));
  CHECK(bitwise_equal(first_g.dassignment, second_g.dassignment));
  CHECK(bitwise_equal(first_g.dcentres, second_g.dcentres));
}

TEST_CASE("a fused NeXtVLAD block on CUDA matches the block on the CPU", "[gpu][nextvlad_fused]") {
  PoisonAllocations poison;
  const NeXtVladBlockShape shape{64, 32, 8, 2};
  const int64_t videos = 6, frames = 20;
  struct Run {
    Tensor output, frames_grad;
    std::vector<Tensor> grads;
  };
  auto run = [&](Device device) {
    ParameterSet parameters;
    Generator init(51);  // Philox: the same initial weights on both devices
    ModelInit model_init{parameters, init, DType::Float32, device};
    NeXtVladBlock block("video_vlad", shape, model_init);
    Generator input(52);
    Tensor frames_in = Tensor::normal({videos, frames, shape.feature_size}, 0.0, 1.0, input, DType::Float32, device);
    frames_in.set_requires_grad();
    Tensor mask = frame_mask(videos, frames, 53, DType::Float32).view({videos, frames}).to(device);
    Run r;
    r.output = block.forward(frames_in, mask, true, true, BatchNormOptions{});
    weighted_objective(r.output, 54).backward();
    r.frames_grad = frames_in.grad();
    for (const Parameter& p : parameters.all())
      if (p.trainable) r.grads.push_back(p.value.grad());
    return r;
  };
  Run cpu = run(Device::cpu()), gpu = run(Device::cuda());
  check_close("output", gpu.output, cpu.output, 1e-4);
  check_close("frames gradient", gpu.frames_grad, cpu.frames_grad, 1e-4);
  REQUIRE(cpu.grads.size() == gpu.grads.size());
  for (size_t i = 0; i < cpu.grads.size(); ++i) {
    INFO("parameter " << i);
    check_close("parameter gradient", gpu.grads[i], cpu.grads[i], 1e-4);
  }
}

}  // namespace ff::test
