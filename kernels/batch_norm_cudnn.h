// cuDNN's batch normalisation over the rows of x [rows, channels], set beside ours (kernels/batch_norm.h)
// so the two can be compared on the same data: `bench kernels --family batch_norm` times both, and
// tests/gpu/test_batch_norm_cudnn_gpu.cpp holds cuDNN to our CPU reference.
//
// cuDNN is not linked: the GPU bundle (docs/gpu_bundle.md) must stay small and must run on nodes without
// it, so libcudnn.so.9 is opened with dlopen on first use and the few functions used here are looked up
// with dlsym. cuDNN 9's libcudnn.so.9 is the shim that exports the whole API and loads its sub-libraries
// (libcudnn_ops.so.9, ...) from its own folder. The file compiles against cudnn.h when the build found it
// (FF_HAVE_CUDNN_HEADERS); without it, available() is false and unavailable_reason() says so.
//
// Only the row-wise batch norms without a row mask can be handed to cuDNN (vlad_bn, hidden_bn, gating_bn):
// cuDNN has no way to leave padding rows out of the statistics, which the cluster batch norm inside the
// fused soft assignment (kernels/nextvlad_assignment.h) needs. x [rows, channels] is described to cuDNN as
// an NCHW tensor [rows, channels, 1, 1] in CUDNN_BATCHNORM_PER_ACTIVATION mode: statistics per channel over
// the rows, exactly what our kernels compute.
//
// Defined the same as ours (and compared by the tests):
//   y = (x - mean) * rstd * gamma + beta, with the batch mean and the BIASED variance: cuDNN's "saved
//   inverse variance" is rstd = 1 / sqrt(variance + epsilon), our rstd;
//   dx, dgamma (our sum_dy_xhat) and dbeta (our sum_dy) of the training-mode backward;
//   running_mean = momentum * running_mean + (1 - momentum) * mean. cuDNN's exponentialAverageFactor is
//   the weight of the NEW value (running = factor * new + (1 - factor) * running), so factor = 1 - momentum.
// Defined differently:
//   running_var. cuDNN averages in the UNBIASED batch variance, variance * n / (n - 1) with n = rows; ours
//   (as TF's, engine/ops.h) averages the biased one. After one step from the same state the two running
//   variances differ by (1 - momentum) * variance / (n - 1). Inference with cuDNN's running statistics
//   would therefore normalise slightly differently from a checkpoint trained with ours.
#pragma once
#if FF_WITH_CUDA
#include <cstdint>
#include <string>

namespace ff::cuda {

class CudnnBatchNorm {
 public:
  // Whether cuDNN 9 could be loaded and every function used here resolved. The first call of any of these
  // three loads the library (once per process, thread-safe); they never throw.
  static bool available();
  // Empty when available; otherwise why not: the library name with dlerror()'s text, a missing symbol, a
  // version other than 9, or "built without cuDNN headers".
  static const std::string& unavailable_reason();
  // "cuDNN 9.19.0 (built for CUDA 13.0)" when available, otherwise empty.
  static const std::string& version();

  // Creates a cuDNN handle on the current device. Throws std::runtime_error (with unavailable_reason())
  // when cuDNN is not available, and when the handle cannot be created (no GPU, for instance).
  CudnnBatchNorm();
  ~CudnnBatchNorm();
  CudnnBatchNorm(const CudnnBatchNorm&) = delete;
  CudnnBatchNorm& operator=(const CudnnBatchNorm&) = delete;

  // float32 only: the comparison is about the training precision, and a double path would go untested.
  //
  // Training forward on current_stream() (kernels/cuda_context.h), device pointers: y, the batch mean and
  // rstd (cuDNN's saved mean and saved inverse variance), and the running statistics updated in place with
  // our momentum convention (running_var: see the header comment). gamma and beta are required: cuDNN has
  // no optional scale or shift.
  void forward_training(const float* x, const float* gamma, const float* beta, int64_t rows, int64_t channels,
                        double epsilon, double momentum, float* running_mean, float* running_var, float* y,
                        float* mean, float* rstd);

  // Training backward on current_stream(): dx, dgamma, dbeta (overwritten, not accumulated) from dy, x,
  // gamma and the forward's mean and rstd; epsilon must be the forward's.
  void backward(const float* dy, const float* x, const float* gamma, const float* mean, const float* rstd,
                int64_t rows, int64_t channels, double epsilon, float* dx, float* dgamma, float* dbeta);

 private:
  void describe(int64_t rows, int64_t channels);  // sets the two descriptors below for this problem
  void release() noexcept;                        // destroys what the constructor created

  // cudnnHandle_t and cudnnTensorDescriptor_t, kept opaque so this header needs no cudnn.h.
  void* handle_ = nullptr;
  void* data_descriptor_ = nullptr;   // x, y, dy, dx: [rows, channels, 1, 1]
  void* param_descriptor_ = nullptr;  // gamma, beta, statistics and their gradients: [1, channels, 1, 1]
};

}  // namespace ff::cuda
#endif
