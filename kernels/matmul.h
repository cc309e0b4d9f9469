// Row-major GEMM, single and strided-batched: C = alpha * op(A) op(B) + beta * C, with C of shape [m, n],
// op(A) of shape [m, k] and op(B) of shape [k, n]. OpenBLAS on the CPU, cuBLAS on CUDA.
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
