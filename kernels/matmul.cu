#include "kernels/cuda_context.h"
#include "kernels/instantiate.h"
#include "kernels/matmul.h"

namespace ff::cuda {
namespace {
// cuBLAS is column-major: a row-major C = op(A) op(B) is the column-major C^T = op(B)^T op(A)^T, so the
// operands are passed swapped with the same transpose flags.
cublasStatus_t gemm_batched(cublasHandle_t h, const GemmShape& s, const float* alpha, const float* a,
                            const float* b, const float* beta, float* c) {
  return cublasSgemmStridedBatched(h, s.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   int(s.n), int(s.m), int(s.k), alpha, b, int(s.trans_b ? s.k : s.n), s.stride_b, a,
                                   int(s.trans_a ? s.m : s.k), s.stride_a, beta, c, int(s.n), s.stride_c, int(s.batch));
}
cublasStatus_t gemm_batched(cublasHandle_t h, const GemmShape& s, const double* alpha, const double* a,
                            const double* b, const double* beta, double* c) {
  return cublasDgemmStridedBatched(h, s.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   int(s.n), int(s.m), int(s.k), alpha, b, int(s.trans_b ? s.k : s.n), s.stride_b, a,
                                   int(s.trans_a ? s.m : s.k), s.stride_a, beta, c, int(s.n), s.stride_c, int(s.batch));
}
}  // namespace

template <class T>
void gemm(const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c) {
  if (s.m == 0 || s.n == 0 || s.batch == 0) return;
  FF_CUBLAS_CHECK(gemm_batched(cublas_handle(), s, &alpha, a, b, &beta, c));
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_MATMUL)

}  // namespace ff::cuda
