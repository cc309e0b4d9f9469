// Row-major GEMM, single and strided-batched: C = alpha * op(A) op(B) + beta * C, with C of shape [m, n],
// op(A) of shape [m, k] and op(B) of shape [k, n]. OpenBLAS on the CPU, cuBLAS on CUDA.
//
// The precision of float32 GEMMs on CUDA is selectable process-wide (GemmPrecision): storage and
// accumulation stay float32, only the tensor-core multiplications round their inputs (TF32: 10-bit
// mantissa, relative error about 1e-3; BF16: 7-bit, about 1e-2). The CPU ignores it: OpenBLAS always
// computes in float32. float64 GEMMs are always float64.
#pragma once
#include "kernels/common.h"

namespace ff {
struct GemmShape {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  int64_t batch = 1;
  // Element strides between consecutive matrices of a batch; 0 reuses one matrix for the whole batch.
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;
};

enum class GemmPrecision {
  Fp32,  // CUBLAS_COMPUTE_32F: plain float32 (the default: results match the CPU to 1e-5)
  Tf32,  // CUBLAS_COMPUTE_32F_FAST_TF32: tensor cores on TF32-rounded inputs
  Bf16,  // CUBLAS_COMPUTE_32F_FAST_16BF: tensor cores on bfloat16-rounded inputs
};
void set_gemm_precision(GemmPrecision precision);
GemmPrecision gemm_precision();
const char* gemm_precision_name(GemmPrecision precision);  // "fp32", "tf32", "bf16"

// Sets a precision for its lifetime and restores the previous one.
class GemmPrecisionScope {
 public:
  explicit GemmPrecisionScope(GemmPrecision precision) : previous_(gemm_precision()) { set_gemm_precision(precision); }
  ~GemmPrecisionScope() { set_gemm_precision(previous_); }
  GemmPrecisionScope(const GemmPrecisionScope&) = delete;
  GemmPrecisionScope& operator=(const GemmPrecisionScope&) = delete;

 private:
  GemmPrecision previous_;
};

}  // namespace ff

#define FF_MATMUL_KERNELS \
  template <class T>      \
  void gemm(const ::ff::GemmShape& shape, T alpha, const T* a, const T* b, T beta, T* c);

namespace ff::cpu {
FF_MATMUL_KERNELS
}
namespace ff::cuda {
FF_MATMUL_KERNELS
}

#define FF_INSTANTIATE_MATMUL(T) template void gemm<T>(const ::ff::GemmShape&, T, const T*, const T*, T, T*);
