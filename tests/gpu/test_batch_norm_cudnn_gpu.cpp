// cuDNN's per-activation batch norm (kernels/batch_norm_cudnn.h) against our CPU reference (kernels/
// batch_norm_cpu.cpp) at the model's row-wise batch-norm sizes and a tiny odd one: y, dx, dgamma, dbeta,
// the saved mean and rstd and the running mean, which both define the same way, and the running variance,
// which cuDNN averages with the unbiased batch variance where ours takes the biased one. Every allocation
// is poisoned with NaN, so an output element cuDNN does not write fails the comparison.
//
// cuDNN is loaded at run time and may be missing on a GPU node: the test then warns with the reason and
// passes without checking anything (it has nothing to compare), rather than failing the suite.
#include <catch2/catch.hpp>
#include <stdexcept>
#include <vector>

#include "engine/tensor.h"
#include "gpu/gpu_compare.h"
#include "kernels/batch_norm.h"
#include "kernels/batch_norm_cudnn.h"

#if FF_WITH_CUDA
namespace ff::test {
namespace {

// The blend of old and new in the running averages is tested with a momentum whose two weights are both
// large, so that the unbiased correction is visible in the running variance (see below).
constexpr double kMomentum = 0.5;
constexpr double kEpsilon = 1e-3;  // the model's (models/nextvlad_config.h)
// cuDNN sums in float32 in an order of its own; the reference sums in double. 1e-4 normwise still tells a
// wrong formula apart: normalising with the unbiased variance instead of the biased one would move y by
// 3.5e-4 (normwise, these inputs) at n = 1024 and 2e-3 at n = 160, and the biased and unbiased running
// variances differ by 7e-4 and 5e-3 there.
constexpr double kCudnnTolerance = 1e-4;

struct Inputs {
  int64_t rows, channels;
  Tensor x, dy, gamma, beta, running_mean, running_var;  // on the CPU
};

Inputs make_inputs(int64_t rows, int64_t channels, uint64_t seed) {
  Generator generator(seed);
  Inputs in{rows, channels, {}, {}, {}, {}, {}, {}};
  // A mean far from 0 relative to the spread, as activations after a GEMM or a ReLU have.
  in.x = Tensor::normal({rows, channels}, 3.0, 2.0, generator);
  in.dy = Tensor::normal({rows, channels}, 0.0, 1.0, generator);
  in.gamma = Tensor::normal({channels}, 1.0, 0.3, generator);
  in.beta = Tensor::normal({channels}, 0.0, 1.0, generator);
  in.running_mean = Tensor::normal({channels}, 0.0, 1.0, generator);
  in.running_var = Tensor::uniform({channels}, 0.5, 2.0, generator);
  return in;
}

struct Result {
  Tensor y, mean, rstd, running_mean, running_var, dx, dgamma, dbeta;
};

// Our CPU kernels as batch_norm (engine/ops/ops_norm.cpp) runs them in training without a row mask. The
// running variance expected of cuDNN is built from the reference's biased variance: momentum * old +
// (1 - momentum) * variance * n / (n - 1).
Result reference(const Inputs& in, Tensor& cudnn_running_var) {
  const int64_t rows = in.rows, channels = in.channels;
  Result r;
  r.y = Tensor::empty({rows, channels});
  r.dx = Tensor::empty({rows, channels});
  r.mean = Tensor::empty({channels});
  r.rstd = Tensor::empty({channels});
  r.dgamma = Tensor::empty({channels});
  r.dbeta = Tensor::empty({channels});
  Tensor variance = Tensor::empty({channels}), count = Tensor::empty({1});
  r.running_mean = in.running_mean.clone();
  r.running_var = in.running_var.clone();
  cpu::batch_norm_statistics<float>(in.x.data<float>(), nullptr, rows, channels, float(kEpsilon), r.mean.data<float>(),
                                    variance.data<float>(), r.rstd.data<float>(), count.data<float>());
  cpu::batch_norm_update_running<float>(r.mean.data<float>(), variance.data<float>(), channels, float(kMomentum),
                                        r.running_mean.data<float>(), r.running_var.data<float>());
  cpu::batch_norm_forward<float>(in.x.data<float>(), r.mean.data<float>(), r.rstd.data<float>(),
                                 in.gamma.data<float>(), in.beta.data<float>(), rows, channels, r.y.data<float>());
  // Our backward sums are the parameter gradients: sum_dy is dbeta, sum_dy_xhat dgamma.
  cpu::batch_norm_backward_sums<float>(in.dy.data<float>(), in.x.data<float>(), r.mean.data<float>(),
                                       r.rstd.data<float>(), rows, channels, r.dbeta.data<float>(),
                                       r.dgamma.data<float>());
  cpu::batch_norm_backward_input<float>(in.dy.data<float>(), in.x.data<float>(), r.mean.data<float>(),
                                        r.rstd.data<float>(), in.gamma.data<float>(), nullptr, count.data<float>(),
                                        r.dbeta.data<float>(), r.dgamma.data<float>(), rows, channels,
                                        r.dx.data<float>());

  std::vector<float> old = in.running_var.to_vector<float>(), v = variance.to_vector<float>();
  const double n = double(rows);
  for (size_t c = 0; c < v.size(); ++c)
    v[c] = float(kMomentum * old[c] + (1 - kMomentum) * double(v[c]) * n / (n - 1));
  cudnn_running_var = Tensor::from_vector(v, {channels});
  return r;
}

Result run_cudnn(cuda::CudnnBatchNorm& cudnn, const Inputs& in) {
  const Device gpu = Device::cuda();
  const int64_t rows = in.rows, channels = in.channels;
  Tensor x = fresh_copy(in.x, gpu), dy = fresh_copy(in.dy, gpu), gamma = fresh_copy(in.gamma, gpu),
         beta = fresh_copy(in.beta, gpu);
  Result r;
  r.running_mean = fresh_copy(in.running_mean, gpu);
  r.running_var = fresh_copy(in.running_var, gpu);
  // Outputs start as NaN (PoisonAllocations): what cuDNN leaves unwritten fails the comparison.
  r.y = Tensor::empty({rows, channels}, DType::Float32, gpu);
  r.dx = Tensor::empty({rows, channels}, DType::Float32, gpu);
  for (Tensor* t : {&r.mean, &r.rstd, &r.dgamma, &r.dbeta}) *t = Tensor::empty({channels}, DType::Float32, gpu);
  cudnn.forward_training(x.data<float>(), gamma.data<float>(), beta.data<float>(), rows, channels, kEpsilon,
                         kMomentum, r.running_mean.data<float>(), r.running_var.data<float>(), r.y.data<float>(),
                         r.mean.data<float>(), r.rstd.data<float>());
  cudnn.backward(dy.data<float>(), x.data<float>(), gamma.data<float>(), r.mean.data<float>(), r.rstd.data<float>(),
                 rows, channels, kEpsilon, r.dx.data<float>(), r.dgamma.data<float>(), r.dbeta.data<float>());
  return r;
}

}  // namespace

TEST_CASE("cuDNN's per-activation batch norm matches our CPU reference", "[gpu][batch_norm][cudnn]") {
  if (!cuda::CudnnBatchNorm::available()) {
    WARN("cuDNN batch norm not compared, cuDNN is unavailable: " << cuda::CudnnBatchNorm::unavailable_reason());
    return;
  }
  PoisonAllocations poison;
  cuda::CudnnBatchNorm cudnn;
  INFO(cuda::CudnnBatchNorm::version());
  struct Size {
    int64_t rows, channels;
  };
  // vlad_bn-like at the original batch, hidden_bn at the large batch, and a tiny odd one (n - 1 = 6).
  for (Size size : {Size{160, 16384}, Size{1024, 2048}, Size{7, 5}}) {
    INFO("rows " << size.rows << " channels " << size.channels);
    Inputs in = make_inputs(size.rows, size.channels, 41);
    Tensor expected_running_var;
    Result cpu = reference(in, expected_running_var);
    Result gpu = run_cudnn(cudnn, in);
    check_close("y", gpu.y, cpu.y, kCudnnTolerance);
    check_close("saved mean", gpu.mean, cpu.mean, kCudnnTolerance);
    check_close("saved inverse variance (rstd)", gpu.rstd, cpu.rstd, kCudnnTolerance);
    check_close("dx", gpu.dx, cpu.dx, kCudnnTolerance);
    check_close("dgamma", gpu.dgamma, cpu.dgamma, kCudnnTolerance);
    check_close("dbeta", gpu.dbeta, cpu.dbeta, kCudnnTolerance);
    check_close("running_mean", gpu.running_mean, cpu.running_mean, kCudnnTolerance);
    // The one output defined differently: cuDNN's running variance takes the unbiased batch variance.
    check_close("running_var (unbiased update)", gpu.running_var, expected_running_var, kCudnnTolerance);
    CHECK(relative_error(gpu.running_var, cpu.running_var) > kCudnnTolerance);  // not ours: biased
  }

  // cuDNN has no optional scale or shift; the wrapper says so instead of passing null to cuDNN.
  Inputs in = make_inputs(7, 5, 3);
  Tensor x = fresh_copy(in.x, Device::cuda()), scratch = Tensor::empty({7, 5}, DType::Float32, Device::cuda());
  Tensor stats = Tensor::empty({4, 5}, DType::Float32, Device::cuda());
  float* s = stats.data<float>();
  CHECK_THROWS_AS(cudnn.forward_training(x.data<float>(), nullptr, s, 7, 5, kEpsilon, kMomentum, s, s + 5,
                                         scratch.data<float>(), s + 10, s + 15),
                  std::invalid_argument);
}

}  // namespace ff::test
#endif
