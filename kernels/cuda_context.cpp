#include "kernels/cuda_context.h"

#include "kernels/matmul.h"

#if FF_WITH_CUDA
#include <stdexcept>
#include <string>

namespace ff::cuda {

void throw_cuda_error(cudaError_t status, const char* expression, const char* file, int line) {
  throw std::runtime_error(std::string("CUDA error ") + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) +
                           ") in " + expression + " at " + file + ":" + std::to_string(line));
}

void throw_cublas_error(cublasStatus_t status, const char* expression, const char* file, int line) {
  throw std::runtime_error(std::string("cuBLAS error ") + cublasGetStatusName(status) + " in " + expression + " at " +
                           file + ":" + std::to_string(line));
}

namespace {
thread_local cudaStream_t g_stream = nullptr;

// Never destroyed: at process exit the CUDA context may already be gone, and destroying then would fail.
thread_local cublasHandle_t g_cublas = nullptr;
}  // namespace

cudaStream_t current_stream() { return g_stream; }
void set_current_stream(cudaStream_t stream) { g_stream = stream; }

cublasHandle_t cublas_handle() {
  if (!g_cublas) {
    FF_CUBLAS_CHECK(cublasCreate(&g_cublas));
    // The default math mode lets each call's compute type decide (kernels/matmul.cu: GemmPrecision); the
    // TF32 math mode would turn CUBLAS_COMPUTE_32F into TF32 behind its back.
    FF_CUBLAS_CHECK(cublasSetMathMode(g_cublas, CUBLAS_DEFAULT_MATH));
  }
  FF_CUBLAS_CHECK(cublasSetStream(g_cublas, g_stream));
  return g_cublas;
}

void set_tf32_enabled(bool enabled) { set_gemm_precision(enabled ? GemmPrecision::Tf32 : GemmPrecision::Fp32); }
bool tf32_enabled() { return gemm_precision() == GemmPrecision::Tf32; }

}  // namespace ff::cuda
#endif
