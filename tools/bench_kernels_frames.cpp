// Two families of `fewerframes bench kernels` on the frame path:
//   "frames"  dequantize_gather (kernels/dequantize_gather.h): k sampled frames of a padded uint8 batch to
//             float32 in one pass, against dequantising every frame and then gathering (the two-pass path);
//   "gemm"    the NeXtVLAD GEMMs (shared/reference/performance-and-style.md §2.3: the expansion and
//             cluster-logit layers over every frame, the hidden layer over the VLAD encoding) at every GEMM
//             precision of the device (the CPU computes float32 only).
#include <fmt/core.h>

#include <vector>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/dequantize.h"
#include "kernels/dequantize_gather.h"
#include "kernels/matmul.h"
#include "tools/kernel_bench.h"
#include "tools/timing.h"

namespace ff::tools {
namespace {

constexpr int64_t kFramesPerVideo = 300;  // YouTube-8M: one frame per second, up to 300

KernelMeasurement measurement(std::string kernel, std::string shape, double ms, double bytes, double flops,
                              std::string precision = "") {
  return {std::move(kernel), std::move(shape), ms, bytes, flops, std::move(precision), ""};
}

// Uniform-k indices (frame i * M / k), as the paper's sampler picks them from a full-length video.
Tensor uniform_indices(int64_t batch, int64_t k, Device device) {
  std::vector<int32_t> indices(size_t(batch * k));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < k; ++i) indices[size_t(b * k + i)] = int32_t(i * kFramesPerVideo / k);
  return Tensor::from_vector(indices, {batch, k}, device);
}

std::vector<KernelMeasurement> bench_frames(const KernelBenchContext& context) {
  const Device device = context.device;
  const int64_t batch = context.quick ? 4 : 160;
  struct Sampling {
    const char* feature;
    int64_t size, k;
  };
  // The student's views (k = 10, 30) of rgb and audio, and the teacher's full view through the same kernel.
  const std::vector<Sampling> samplings = {{"rgb", 1024, 10}, {"rgb", 1024, 30}, {"audio", 128, 30}, {"rgb", 1024, 300}};
  std::vector<KernelMeasurement> results;
  for (const Sampling& s : samplings) {
    const std::string shape = fmt::format("{} B={} M={} N={} k={}", s.feature, batch, kFramesPerVideo, s.size, s.k);
    std::vector<uint8_t> bytes(size_t(batch * kFramesPerVideo * s.size));
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t((i * 2654435761u) >> 13);
    Tensor frames = Tensor::from_vector(bytes, {batch, kFramesPerVideo, s.size}, device);
    Tensor indices = uniform_indices(batch, s.k, device);
    Tensor out = Tensor::empty({batch, s.k, s.size}, DType::Float32, device);
    // Compulsory: the sampled bytes and the indices read, the floats written.
    const double traffic = double(batch * s.k * s.size) * (1 + sizeof(float)) + double(batch * s.k) * sizeof(int32_t);
    double ms = time_median_ms(device, context.repeats, [&] {
      FF_RUN_KERNEL(device, dequantize_gather, batch, kFramesPerVideo, s.size, s.k, frames.data<uint8_t>(),
                    indices.data<int32_t>(), out.data<float>());
      return out;
    });
    results.push_back(measurement("dequantize_gather", shape, ms, traffic, 0.0));

    Tensor all = Tensor::empty({batch, kFramesPerVideo, s.size}, DType::Float32, device);
    ms = time_median_ms(device, context.repeats, [&] {
      FF_RUN_KERNEL(device, dequantize, frames.data<uint8_t>(), all.data<float>(), frames.numel());
      return gather_frames(all, indices);
    });
    results.push_back(measurement("dequantize_then_gather_frames", shape, ms, traffic, 0.0));
  }
  return results;
}

std::vector<KernelMeasurement> bench_gemm(const KernelBenchContext& context) {
  const Device device = context.device;
  // Videos whose 300 frames go through the frame-level GEMMs, and batches of the hidden layer. A CPU run
  // keeps the widths and shrinks the rows.
  const int64_t frame_videos = context.quick ? 2 : device.is_cuda() ? 160 : 16;
  const std::vector<int64_t> hidden_batches =
      context.quick ? std::vector<int64_t>{16} : std::vector<int64_t>{160, 1024};
  struct Gemm {
    std::string role;
    int64_t m, k, n;
  };
  std::vector<Gemm> gemms = {
      {"gemm_expansion", frame_videos * kFramesPerVideo, 1024, 2048},       // frame features -> expanded
      {"gemm_cluster_logits", frame_videos * kFramesPerVideo, 2048, 1024},  // expanded -> per-group cluster logits
  };
  for (int64_t b : hidden_batches) gemms.push_back({"gemm_hidden_fc", b, 36864, 2048});  // VLAD -> hidden

  std::vector<GemmPrecision> precisions = {GemmPrecision::Fp32};
  if (device.is_cuda()) precisions.insert(precisions.end(), {GemmPrecision::Tf32, GemmPrecision::Bf16});

  std::vector<KernelMeasurement> results;
  for (const Gemm& g : gemms) {
    Generator generator(99);
    Tensor a = Tensor::uniform({g.m, g.k}, -1.0, 1.0, generator, DType::Float32, device);
    Tensor b = Tensor::uniform({g.k, g.n}, -1.0, 1.0, generator, DType::Float32, device);
    const double flops = 2.0 * double(g.m) * double(g.n) * double(g.k);
    const double traffic = double(g.m * g.k + g.k * g.n + g.m * g.n) * sizeof(float);
    for (GemmPrecision precision : precisions) {
      GemmPrecisionScope scope(precision);
      double ms = time_median_ms(device, context.repeats, [&] { return matmul(a, b); });
      results.push_back(measurement(g.role, fmt::format("[{}x{}]x[{}x{}] {}", g.m, g.k, g.k, g.n,
                                                        gemm_precision_name(precision)),
                                    ms, traffic, flops, gemm_precision_name(precision)));
    }
  }
  return results;
}

const KernelBenchRegistrar frames_registrar("frames", bench_frames);
const KernelBenchRegistrar gemm_registrar("gemm", bench_gemm);

}  // namespace
}  // namespace ff::tools
