#include "kernels/cuda_context.h"
#include "kernels/instantiate.h"
#include "kernels/matmul.h"

namespace ff::cuda {
namespace {
// cuBLAS is column-major: a row-major C = op(A) op(B) is the column-major C^T = op(B)^T op(A)^T, so the
// operands are passed swapped with the same transpose flags.
cublasComputeType_t compute_type(GemmPrecision precision) {
  switch (precision) {
    case GemmPrecision::Tf32: return CUBLAS_COMPUTE_32F_FAST_TF32;
    case GemmPrecision::Bf16: return CUBLAS_COMPUTE_32F_FAST_16BF;
    case GemmPrecision::Fp32: break;
  }
  return CUBLAS_COMPUTE_32F;
}

// float32 storage and accumulation; the compute type picks the multiplication (gemm_precision()).
cublasStatus_t gemm_batched(cublasHandle_t h, const GemmShape& s, const float* alpha, const float* a,
                            const float* b, const float* beta, float* c) {
  const cublasOperation_t op_b = s.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, op_a = s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int ld_b = int(s.trans_b ? s.k : s.n), ld_a = int(s.trans_a ? s.m : s.k);
  const cublasComputeType_t compute = compute_type(gemm_precision());
  if (s.batch == 1)
    return cublasGemmEx(h, op_b, op_a, int(s.n), int(s.m), int(s.k), alpha, b, CUDA_R_32F, ld_b, a, CUDA_R_32F, ld_a,
                        beta, c, CUDA_R_32F, int(s.n), compute, CUBLAS_GEMM_DEFAULT);
  return cublasGemmStridedBatchedEx(h, op_b, op_a, int(s.n), int(s.m), int(s.k), alpha, b, CUDA_R_32F, ld_b,
                                    s.stride_b, a, CUDA_R_32F, ld_a, s.stride_a, beta, c, CUDA_R_32F, int(s.n),
                                    s.stride_c, int(s.batch), compute, CUBLAS_GEMM_DEFAULT);
}
cublasStatus_t gemm_batched(cublasHandle_t h, const GemmShape& s, const double* alpha, const double* a,
                            const double* b, const double* beta, double* c) {
  return cublasDgemmStridedBatched(h, s.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, s.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   int(s.n), int(s.m), int(s.k), alpha, b, int(s.trans_b ? s.k : s.n), s.stride_b, a,
                                   int(s.trans_a ? s.m : s.k), s.stride_a, beta, c, int(s.n), s.stride_c, int(s.batch));
}

// C = beta * C for an empty inner dimension (k == 0): the product is an empty sum. cuBLAS cannot be asked,
// since it requires leading dimensions >= 1 and ld = k is then 0; this matches the CPU's handling.
template <class T>
__global__ void scale_products_kernel(T* c, int64_t elements, int64_t stride, int64_t batch, T beta) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < elements * batch;
       i += int64_t(gridDim.x) * blockDim.x) {
    T& value = c[(i / elements) * stride + i % elements];
    value = beta == T(0) ? T(0) : beta * value;  // beta 0 overwrites, NaN included, as BLAS does
  }
}
}  // namespace

template <class T>
void gemm(const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c) {
  if (s.m == 0 || s.n == 0 || s.batch == 0) return;
  if (s.k == 0) {
    const int64_t elements = s.m * s.n;
    scale_products_kernel<<<blocks_for(elements * s.batch), kBlockSize, 0, current_stream()>>>(
        c, elements, s.stride_c, s.batch, beta);
    FF_CUDA_CHECK_LAUNCH();
    return;
  }
  FF_CUBLAS_CHECK(gemm_batched(cublas_handle(), s, &alpha, a, b, &beta, c));
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_MATMUL)

}  // namespace ff::cuda
