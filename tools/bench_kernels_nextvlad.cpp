// `fewerframes bench kernels`, family "nextvlad": the fused soft assignment (cluster batch norm in training
// mode with statistics over the real frames, softmax over K, group attention, frame mask) and the fused
// residual aggregation (strided-batched GEMM + epilogue), forward and backward, at the rgb block of the
// default model (batch 160, K 128, G 8, lambda 2, N 1024, so D_g 256) for the teacher (300 frames) and the
// students (30 and 10 frames). The kernels are called as the ops call them, on preallocated buffers, so
// neither allocation nor autograd bookkeeping is timed; see docs/kernels.md for the design and the
// roofline estimates these figures are compared with.
#include <string>
#include <vector>

#include "engine/dispatch.h"
#include "engine/tensor.h"
#include "kernels/batch_norm.h"
#include "kernels/matmul.h"
#include "kernels/nextvlad_aggregation.h"
#include "kernels/nextvlad_assignment.h"
#include "tools/kernel_bench.h"
#include "tools/timing.h"

namespace ff::tools {
namespace {

struct NeXtVladProblem {
  int64_t videos, frames, groups, clusters, group_size;
  int64_t rows() const { return videos * frames; }                   // frame rows of the assignment
  int64_t channels() const { return groups * clusters; }             // G*K
  int64_t rows_per_video() const { return frames * groups; }         // R of the aggregation
  std::string shape_text(bool with_features) const {
    return "B=" + std::to_string(videos) + " M=" + std::to_string(frames) + " G=" + std::to_string(groups) +
           " K=" + std::to_string(clusters) + (with_features ? " D=" + std::to_string(group_size) : "");
  }
};

constexpr int64_t kDefaultBatch = 160;
constexpr int64_t kDefaultGroups = 8, kDefaultClusters = 128, kDefaultGroupSize = 2 * 1024 / 8;

std::vector<NeXtVladProblem> problems(bool quick) {
  // The teacher's 300 frames and the students' 30 and 10 (a smoke run: a few videos of a narrow block).
  if (quick) return {{2, 12, 4, 32, 16}, {2, 3, 4, 32, 16}};
  return {{kDefaultBatch, 300, kDefaultGroups, kDefaultClusters, kDefaultGroupSize},
          {kDefaultBatch, 30, kDefaultGroups, kDefaultClusters, kDefaultGroupSize},
          {kDefaultBatch, 10, kDefaultGroups, kDefaultClusters, kDefaultGroupSize}};
}

constexpr double kFloat = sizeof(float);

// A frame mask with about two thirds of each video real, as YouTube-8M's average of ~213 of 300 frames.
Tensor bench_frame_mask(const NeXtVladProblem& p, Device device) {
  std::vector<float> mask;
  for (int64_t b = 0; b < p.videos; ++b)
    for (int64_t f = 0; f < p.frames; ++f) mask.push_back(f < (2 * p.frames + 2) / 3 ? 1.0f : 0.0f);
  return Tensor::from_vector(mask, {p.rows()}).to(device);
}

// Compulsory traffic, every tensor read or written once (float32): see docs/kernels.md.
double assignment_forward_bytes(const NeXtVladProblem& p) {
  // read z, l, mask, gamma, beta, running mean and variance; write out and the running statistics
  return kFloat * double(2 * p.rows() * p.channels() + p.rows() * p.groups + p.rows() + 6 * p.channels());
}
double assignment_backward_bytes(const NeXtVladProblem& p) {
  // read dout, z, l, mask and the per-channel vectors; write dz, dl, dgamma, dbeta
  return kFloat * double(3 * p.rows() * p.channels() + 2 * p.rows() * p.groups + p.rows() + 6 * p.channels());
}
double aggregation_forward_bytes(const NeXtVladProblem& p) {
  const int64_t a = p.videos * p.rows_per_video() * p.clusters, x = p.videos * p.rows_per_video() * p.group_size;
  const int64_t v = p.videos * p.group_size * p.clusters, c = p.group_size * p.clusters;
  return kFloat * double(a + x + c + v + 2 * p.videos * p.clusters);
}
double aggregation_backward_bytes(const NeXtVladProblem& p) {
  const int64_t a = p.videos * p.rows_per_video() * p.clusters, x = p.videos * p.rows_per_video() * p.group_size;
  const int64_t v = p.videos * p.group_size * p.clusters, c = p.group_size * p.clusters;
  // read dv, v, norms, sums, a, x, c; write da, dx, dc
  return kFloat * double(2 * v + 2 * p.videos * p.clusters + 2 * a + 2 * x + 2 * c);
}
// The GEMMs: x^T a forward; a dr^T and x dr backward (multiply-adds count 2).
double aggregation_gemm_flops(const NeXtVladProblem& p) {
  return 2.0 * double(p.videos) * double(p.rows_per_video()) * double(p.clusters) * double(p.group_size);
}

std::vector<KernelMeasurement> bench_assignment(const NeXtVladProblem& p, const KernelBenchContext& context) {
  const Device device = context.device;
  const int64_t rows = p.rows(), channels = p.channels();
  Generator generator(1234);
  auto normal = [&](const Shape& shape, double mean, double stddev) {
    return Tensor::normal(shape, mean, stddev, generator, DType::Float32, device);
  };
  Tensor logits = normal({rows, channels}, 0.0, 3.0), attention = normal({rows, p.groups}, 0.0, 1.0);
  Tensor mask = bench_frame_mask(p, device);
  Tensor gamma = normal({channels}, 1.0, 0.1), beta = normal({channels}, 0.0, 0.1);
  Tensor running_mean = Tensor::zeros({channels}, DType::Float32, device);
  Tensor running_var = Tensor::full({channels}, 1.0, DType::Float32, device);
  Tensor mean = Tensor::empty({channels}, DType::Float32, device), rstd = Tensor::empty_like(mean);
  Tensor variance = Tensor::empty_like(mean), count = Tensor::empty({1}, DType::Float32, device);
  Tensor out = Tensor::empty_like(logits), dout = normal({rows, channels}, 0.0, 1.0);
  Tensor dlogits = Tensor::empty_like(logits), dattention = Tensor::empty_like(attention);
  Tensor sum_dy = Tensor::empty_like(mean), sum_dy_xhat = Tensor::empty_like(mean);
  const NeXtVladAssignmentInputs<float> in{logits.data<float>(), attention.data<float>(), mask.data<float>(),
                                           mean.data<float>(),   rstd.data<float>(),      gamma.data<float>(),
                                           beta.data<float>(),   rows,                    p.groups,
                                           p.clusters};

  // Forward in training: statistics over the real frames, running averages, the fused pass.
  double forward_ms = time_median_ms(device, context.repeats, [&] {
    FF_RUN_KERNEL(device, batch_norm_statistics<float>, logits.data<float>(), mask.data<float>(), rows, channels,
                  1e-3f, mean.data<float>(), variance.data<float>(), rstd.data<float>(), count.data<float>());
    FF_RUN_KERNEL(device, batch_norm_update_running<float>, mean.data<float>(), variance.data<float>(), channels,
                  0.999f, running_mean.data<float>(), running_var.data<float>());
    FF_RUN_KERNEL(device, nextvlad_assignment_forward<float>, in, out.data<float>());
    return out;  // kept until the interval ends, as time_median_ms expects
  });
  // Backward in training: the sums pass, then dz and dl.
  double backward_ms = time_median_ms(device, context.repeats, [&] {
    FF_RUN_KERNEL(device, nextvlad_assignment_backward_sums<float>, in, dout.data<float>(), sum_dy.data<float>(),
                  sum_dy_xhat.data<float>());
    FF_RUN_KERNEL(device, nextvlad_assignment_backward<float>, in, dout.data<float>(), mask.data<float>(),
                  count.data<float>(), sum_dy.data<float>(), sum_dy_xhat.data<float>(), dlogits.data<float>(),
                  dattention.data<float>());
    return dlogits;
  });
  // Elementwise and memory-bound: no FLOP count (its fraction of a GEMM peak would mean nothing).
  return {{"nextvlad_assignment_forward", p.shape_text(false), forward_ms, assignment_forward_bytes(p), 0.0, "",
           ""},
          {"nextvlad_assignment_backward", p.shape_text(false), backward_ms, assignment_backward_bytes(p), 0.0, "",
           ""}};
}

std::vector<KernelMeasurement> bench_aggregation(const NeXtVladProblem& p, const KernelBenchContext& context) {
  const Device device = context.device;
  const NeXtVladAggregationShape shape{p.videos, p.rows_per_video(), p.clusters, p.group_size};
  Generator generator(4321);
  Tensor assignment = Tensor::uniform({shape.batch, shape.rows, shape.clusters}, 0.0, 2.0 / double(p.clusters),
                                      generator, DType::Float32, device);
  Tensor features =
      Tensor::normal({shape.batch, shape.rows, shape.features}, 0.0, 1.0, generator, DType::Float32, device);
  Tensor centres = Tensor::normal({shape.features, shape.clusters}, 0.0, 0.1, generator, DType::Float32, device);
  Tensor vlad = Tensor::empty({shape.batch, shape.features, shape.clusters}, DType::Float32, device);
  Tensor sums = Tensor::empty({shape.batch, shape.clusters}, DType::Float32, device), norms = Tensor::empty_like(sums);
  Tensor dvlad = Tensor::normal(vlad.shape(), 0.0, 1.0, generator, DType::Float32, device);
  Tensor dresidual = Tensor::empty_like(vlad), dsums = Tensor::empty_like(sums);
  Tensor dassignment = Tensor::empty_like(assignment), dfeatures = Tensor::empty_like(features);
  Tensor dcentres = Tensor::empty_like(centres);
  const float epsilon = 1e-12f;

  double forward_ms = time_median_ms(device, context.repeats, [&] {
    FF_RUN_KERNEL(device, nextvlad_aggregation_forward<float>, shape, assignment.data<float>(),
                  features.data<float>(), centres.data<float>(), epsilon, vlad.data<float>(), sums.data<float>(),
                  norms.data<float>());
    return vlad;
  });
  double backward_ms = time_median_ms(device, context.repeats, [&] {
    FF_RUN_KERNEL(device, nextvlad_aggregation_backward<float>, shape, dvlad.data<float>(), vlad.data<float>(),
                  norms.data<float>(), sums.data<float>(), assignment.data<float>(), features.data<float>(),
                  centres.data<float>(), epsilon, dresidual.data<float>(), dsums.data<float>(),
                  dassignment.data<float>(), dfeatures.data<float>(), dcentres.data<float>());
    return dassignment;
  });
  const double gemm = aggregation_gemm_flops(p);
  // The a^T x products run on cuBLAS at the process-wide GEMM precision; their FLOPs compare with its peak.
  const std::string precision = context.device.is_cuda() ? gemm_precision_name(gemm_precision()) : "";
  return {{"nextvlad_aggregation_forward", p.shape_text(true), forward_ms, aggregation_forward_bytes(p), gemm,
           precision, ""},
          {"nextvlad_aggregation_backward", p.shape_text(true), backward_ms, aggregation_backward_bytes(p), 2 * gemm,
           precision, ""}};
}

std::vector<KernelMeasurement> bench_nextvlad(const KernelBenchContext& context) {
  std::vector<KernelMeasurement> measurements;
  for (const NeXtVladProblem& p : problems(context.quick)) {
    for (KernelMeasurement& m : bench_assignment(p, context)) measurements.push_back(std::move(m));
    for (KernelMeasurement& m : bench_aggregation(p, context)) measurements.push_back(std::move(m));
  }
  return measurements;
}

const KernelBenchRegistrar registrar("nextvlad", bench_nextvlad);

}  // namespace
}  // namespace ff::tools
