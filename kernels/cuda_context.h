// The CUDA side of kernels/: error checks naming file and line, the stream kernels launch on, the cuBLAS
// handle, launch geometry. Only compiled into CUDA builds (FF_WITH_CUDA).
#pragma once
#if FF_WITH_CUDA
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace ff::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t status, const char* expression, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* expression, const char* file, int line);

#define FF_CUDA_CHECK(expression)                                                             \
  do {                                                                                        \
    cudaError_t ff_status_ = (expression);                                                    \
    if (ff_status_ != cudaSuccess) ::ff::cuda::throw_cuda_error(ff_status_, #expression, __FILE__, __LINE__); \
  } while (0)

#define FF_CUBLAS_CHECK(expression)                                                             \
  do {                                                                                          \
    cublasStatus_t ff_status_ = (expression);                                                   \
    if (ff_status_ != CUBLAS_STATUS_SUCCESS)                                                    \
      ::ff::cuda::throw_cublas_error(ff_status_, #expression, __FILE__, __LINE__);              \
  } while (0)

// After a <<<>>> launch: reports a bad configuration at the launch site instead of at the next sync.
#define FF_CUDA_CHECK_LAUNCH() FF_CUDA_CHECK(cudaGetLastError())

// The stream every kernel of this thread is launched on (default: the legacy default stream).
cudaStream_t current_stream();
void set_current_stream(cudaStream_t stream);

// One cuBLAS handle per thread, bound to current_stream() each time it is fetched.
cublasHandle_t cublas_handle();

// TF32 tensor-core math for float32 GEMMs: the older switch, now a view of the process-wide GEMM precision
// (kernels/matmul.h): true sets GemmPrecision::Tf32, false GemmPrecision::Fp32; tf32_enabled() is true
// only at Tf32.
void set_tf32_enabled(bool enabled);
bool tf32_enabled();

constexpr int kBlockSize = 256;
inline unsigned blocks_for(int64_t n, int block = kBlockSize) {
  int64_t blocks = (n + block - 1) / block;
  if (blocks < 1) blocks = 1;
  return unsigned(blocks > 65535 * 32 ? 65535 * 32 : blocks);  // kernels use grid-stride loops
}

}  // namespace ff::cuda
#endif

#if FF_WITH_CUDA
// Grid-stride loop over [0, n): correct for any grid size, so launches can cap the grid.
#define FF_CUDA_KERNEL_LOOP(i, n)                                                            \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)
#endif
