// The "batch_norm" family of `fewerframes bench kernels`: our training-mode batch norm (kernels/
// batch_norm.h) against cuDNN's (kernels/batch_norm_cudnn.h), forward and backward, on the model's
// row-wise batch norms without a row mask, at the original batch (160) and a large one (1024):
//   vlad_bn   the rgb and audio VLAD encodings, [B, K*D_g] (32768 and 4096 wide in the default model)
//   hidden_bn the hidden layer, [B, H] (2048)
//   gating_bn the squeezed SE gate, [B, H/r] (256)
// The cluster batch norm is not here: it is fused into the soft assignment and takes its statistics over
// the real frames only (a row mask cuDNN cannot express); the "nextvlad" family times it.
//
// Both sides run exactly what a training step needs and are charged the same compulsory traffic, so their
// GB/s compare directly:
//   forward   statistics, running-average update and normalisation: reads x, writes y (2 * B * C floats);
//             per channel reads gamma, beta and the running statistics, writes those and the batch mean and
//             rstd (8 * C floats)
//   backward  dx, dgamma, dbeta: reads dy and x, writes dx (3 * B * C floats); per channel reads gamma,
//             mean and rstd, writes dgamma and dbeta (5 * C floats)
// Ours makes more passes than that (two over x for the statistics, two over dy and x in the backward); how
// far its GB/s falls below the copy peak is what those passes cost.
//
// cuDNN runs only on CUDA and only where libcudnn.so.9 can be loaded; elsewhere its rows are reported as
// unavailable with the reason. After timing, cuDNN's y, dx, dgamma and dbeta are compared with ours, and a
// cuDNN kernel whose output disagrees is reported as unavailable too rather than given a time: a fast wrong
// answer is no answer. On the CPU only our kernels run (the CPU reference).
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/tensor.h"
#include "kernels/batch_norm.h"
#include "kernels/batch_norm_cudnn.h"
#include "models/nextvlad_config.h"
#include "tools/kernel_bench.h"
#include "tools/timing.h"

namespace ff::tools {
namespace {

struct Layer {
  std::string name;
  int64_t channels;
};

// The row-wise batch norms of the default model, their widths from its configuration (models/nextvlad.h:
// the rgb block has K clusters, G groups; the audio block K/2 and G/2; D_g = lambda * N / G).
std::vector<Layer> model_layers() {
  NeXtVladConfig c;
  return {{"vlad_bn(rgb)", c.cluster_size * c.expansion * c.rgb_feature_size / c.groups},
          {"vlad_bn(audio)", (c.cluster_size / 2) * c.expansion * c.audio_feature_size / (c.groups / 2)},
          {"hidden_bn", c.hidden_size},
          {"gating_bn", c.hidden_size / c.gating_reduction}};
}

constexpr double kFloat = sizeof(float);
// cuDNN against ours, both float32 on the GPU, each summing in its own order: normwise agreement to this.
// It is below what a different formula would give: normalising with the unbiased variance instead of the
// biased one already moves y by about 3.5e-4 (normwise) at n = 1024.
constexpr double kAgreement = 1e-4;

double forward_bytes(int64_t rows, int64_t channels) { return kFloat * double(2 * rows * channels + 8 * channels); }
double backward_bytes(int64_t rows, int64_t channels) { return kFloat * double(3 * rows * channels + 5 * channels); }

// ||a - b|| / ||b|| over the elements, both float tensors of one shape; NaN anywhere gives NaN.
double normwise_difference(const Tensor& a, const Tensor& b) {
  std::vector<float> x = a.to_vector<float>(), y = b.to_vector<float>();
  double difference = 0, norm = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double d = double(x[i]) - double(y[i]);
    difference += d * d;
    norm += double(y[i]) * double(y[i]);
  }
  return std::sqrt(difference) / std::max(std::sqrt(norm), 1e-30);
}

struct Problem {
  int64_t rows, channels;
  Tensor x, dy, gamma, beta, running_mean, running_var;
  // ours
  Tensor y, mean, variance, rstd, count, dx, sum_dy, sum_dy_xhat;
};

Problem make_problem(int64_t rows, int64_t channels, Device device) {
  Generator generator(31);
  Problem p;
  p.rows = rows;
  p.channels = channels;
  // Activations off centre, as after a ReLU or a GEMM: the statistics have something to remove.
  p.x = Tensor::normal({rows, channels}, 3.0, 2.0, generator, DType::Float32, device);
  p.dy = Tensor::normal({rows, channels}, 0.0, 1.0, generator, DType::Float32, device);
  p.gamma = Tensor::normal({channels}, 1.0, 0.3, generator, DType::Float32, device);
  p.beta = Tensor::normal({channels}, 0.0, 1.0, generator, DType::Float32, device);
  p.running_mean = Tensor::zeros({channels}, DType::Float32, device);
  p.running_var = Tensor::full({channels}, 1.0, DType::Float32, device);
  p.y = Tensor::empty({rows, channels}, DType::Float32, device);
  p.dx = Tensor::empty({rows, channels}, DType::Float32, device);
  for (Tensor* t : {&p.mean, &p.variance, &p.rstd, &p.sum_dy, &p.sum_dy_xhat})
    *t = Tensor::empty({channels}, DType::Float32, device);
  p.count = Tensor::empty({1}, DType::Float32, device);
  return p;
}

#if FF_WITH_CUDA
// cuDNN's two kernels on problem p (already run through ours, whose outputs it is checked against).
void bench_cudnn(cuda::CudnnBatchNorm& cudnn, Problem& p, const BatchNormOptions& options, int repeats,
                 const std::string& shape, std::vector<KernelMeasurement>& results) {
  const Device device = p.x.device();
  const int64_t rows = p.rows, channels = p.channels;
  Tensor y = Tensor::empty({rows, channels}, DType::Float32, device);
  Tensor dx = Tensor::empty({rows, channels}, DType::Float32, device);
  Tensor mean = Tensor::empty({channels}, DType::Float32, device);
  Tensor rstd = Tensor::empty({channels}, DType::Float32, device);
  Tensor dgamma = Tensor::empty({channels}, DType::Float32, device);
  Tensor dbeta = Tensor::empty({channels}, DType::Float32, device);
  // Running statistics of its own: both sides update theirs on every repeat.
  Tensor running_mean = p.running_mean.clone(), running_var = p.running_var.clone();

  KernelMeasurement forward{"cudnn_batch_norm_forward", shape, 0.0, forward_bytes(rows, channels), 0.0, "", ""};
  KernelMeasurement backward{"cudnn_batch_norm_backward", shape, 0.0, backward_bytes(rows, channels), 0.0, "", ""};
  forward.milliseconds = time_median_ms(device, repeats, [&] {
    cudnn.forward_training(p.x.data<float>(), p.gamma.data<float>(), p.beta.data<float>(), rows, channels,
                           options.epsilon, options.momentum, running_mean.data<float>(), running_var.data<float>(),
                           y.data<float>(), mean.data<float>(), rstd.data<float>());
    return y;
  });
  backward.milliseconds = time_median_ms(device, repeats, [&] {
    cudnn.backward(p.dy.data<float>(), p.x.data<float>(), p.gamma.data<float>(), mean.data<float>(),
                   rstd.data<float>(), rows, channels, options.epsilon, dx.data<float>(), dgamma.data<float>(),
                   dbeta.data<float>());
    return dx;
  });

  // Ours computed y and the gradients from the same x, dy and gamma (dgamma is our sum_dy_xhat, dbeta our
  // sum_dy). The running statistics are not compared: cuDNN's running variance is defined differently.
  auto disagreement = [&](std::initializer_list<std::pair<const char*, double>> errors) -> std::string {
    for (const auto& [what, error] : errors)
      if (!(error < kAgreement))  // NaN disagrees
        return fmt::format("cuDNN's {} differs from ours by {:.3g} (normwise), more than {:g}: not timed", what,
                           error, kAgreement);
    return "";
  };
  forward.unavailable = disagreement({{"y", normwise_difference(y, p.y)},
                                      {"mean", normwise_difference(mean, p.mean)},
                                      {"rstd", normwise_difference(rstd, p.rstd)}});
  backward.unavailable = disagreement({{"dx", normwise_difference(dx, p.dx)},
                                       {"dgamma", normwise_difference(dgamma, p.sum_dy_xhat)},
                                       {"dbeta", normwise_difference(dbeta, p.sum_dy)}});
  results.push_back(forward);
  results.push_back(backward);
}
#endif

std::vector<KernelMeasurement> bench_batch_norm(const KernelBenchContext& context) {
  const Device device = context.device;
  const std::vector<int64_t> batches = context.quick ? std::vector<int64_t>{8} : std::vector<int64_t>{160, 1024};
  NeXtVladConfig config;
  BatchNormOptions options;
  options.momentum = config.bn_momentum;
  options.epsilon = config.bn_epsilon;

  // cuDNN: loaded once; when it cannot be, every cuDNN row says why.
  std::string cudnn_unavailable = "this build has no CUDA backend";
#if FF_WITH_CUDA
  std::unique_ptr<cuda::CudnnBatchNorm> cudnn;
  cudnn_unavailable = cuda::CudnnBatchNorm::unavailable_reason();
  if (device.is_cuda() && cudnn_unavailable.empty()) {
    try {
      cudnn = std::make_unique<cuda::CudnnBatchNorm>();
      fmt::print(stderr, "bench kernels: batch_norm: {}\n", cuda::CudnnBatchNorm::version());
    } catch (const std::exception& e) {  // loaded, but no handle (a driver problem, say)
      cudnn_unavailable = e.what();
    }
  }
#endif

  std::vector<KernelMeasurement> results;
  for (int64_t batch : batches) {
    for (const Layer& layer : model_layers()) {
      const int64_t rows = batch, channels = layer.channels;
      const std::string shape = fmt::format("{} B={} C={}", layer.name, batch, channels);
      Problem p = make_problem(rows, channels, device);
      const float epsilon = float(options.epsilon), momentum = float(options.momentum);

      // Ours as batch_norm (engine/ops/ops_norm.cpp) runs it in training without a mask.
      double ms = time_median_ms(device, context.repeats, [&] {
        FF_RUN_KERNEL(device, batch_norm_statistics<float>, p.x.data<float>(), nullptr, rows, channels, epsilon,
                      p.mean.data<float>(), p.variance.data<float>(), p.rstd.data<float>(), p.count.data<float>());
        FF_RUN_KERNEL(device, batch_norm_update_running<float>, p.mean.data<float>(), p.variance.data<float>(),
                      channels, momentum, p.running_mean.data<float>(), p.running_var.data<float>());
        FF_RUN_KERNEL(device, batch_norm_forward<float>, p.x.data<float>(), p.mean.data<float>(),
                      p.rstd.data<float>(), p.gamma.data<float>(), p.beta.data<float>(), rows, channels,
                      p.y.data<float>());
        return p.y;
      });
      results.push_back({"batch_norm_forward", shape, ms, forward_bytes(rows, channels), 0.0, "", ""});
      ms = time_median_ms(device, context.repeats, [&] {
        FF_RUN_KERNEL(device, batch_norm_backward_sums<float>, p.dy.data<float>(), p.x.data<float>(),
                      p.mean.data<float>(), p.rstd.data<float>(), rows, channels, p.sum_dy.data<float>(),
                      p.sum_dy_xhat.data<float>());
        FF_RUN_KERNEL(device, batch_norm_backward_input<float>, p.dy.data<float>(), p.x.data<float>(),
                      p.mean.data<float>(), p.rstd.data<float>(), p.gamma.data<float>(), nullptr,
                      p.count.data<float>(), p.sum_dy.data<float>(), p.sum_dy_xhat.data<float>(), rows, channels,
                      p.dx.data<float>());
        return p.dx;
      });
      results.push_back({"batch_norm_backward", shape, ms, backward_bytes(rows, channels), 0.0, "", ""});

      if (!device.is_cuda()) continue;  // cuDNN is a GPU library: the CPU runs only ours
#if FF_WITH_CUDA
      if (cudnn) {
        bench_cudnn(*cudnn, p, options, context.repeats, shape, results);
        continue;
      }
#endif
      results.push_back({"cudnn_batch_norm_forward", shape, 0.0, forward_bytes(rows, channels), 0.0, "",
                         cudnn_unavailable});
      results.push_back({"cudnn_batch_norm_backward", shape, 0.0, backward_bytes(rows, channels), 0.0, "",
                         cudnn_unavailable});
    }
  }
  return results;
}

const KernelBenchRegistrar registrar("batch_norm", bench_batch_norm);

}  // namespace
}  // namespace ff::tools
