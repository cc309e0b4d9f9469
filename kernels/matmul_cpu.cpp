#include <cblas.h>

#include "kernels/instantiate.h"
#include "kernels/matmul.h"

namespace ff::cpu {
namespace {
void gemm_one(const GemmShape& s, float alpha, const float* a, const float* b, float beta, float* c) {
  cblas_sgemm(CblasRowMajor, s.trans_a ? CblasTrans : CblasNoTrans, s.trans_b ? CblasTrans : CblasNoTrans, int(s.m),
              int(s.n), int(s.k), alpha, a, int(s.trans_a ? s.m : s.k), b, int(s.trans_b ? s.k : s.n), beta, c,
              int(s.n));
}
void gemm_one(const GemmShape& s, double alpha, const double* a, const double* b, double beta, double* c) {
  cblas_dgemm(CblasRowMajor, s.trans_a ? CblasTrans : CblasNoTrans, s.trans_b ? CblasTrans : CblasNoTrans, int(s.m),
              int(s.n), int(s.k), alpha, a, int(s.trans_a ? s.m : s.k), b, int(s.trans_b ? s.k : s.n), beta, c,
              int(s.n));
}
}  // namespace

template <class T>
void gemm(const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c) {
  if (s.m == 0 || s.n == 0) return;
  for (int64_t i = 0; i < s.batch; ++i) {
    T* ci = c + i * s.stride_c;
    if (s.k == 0) {  // BLAS leaves C untouched for k = 0 only when beta = 1
      for (int64_t j = 0; j < s.m * s.n; ++j) ci[j] = beta == T(0) ? T(0) : beta * ci[j];
      continue;
    }
    gemm_one(s, alpha, a + i * s.stride_a, b + i * s.stride_b, beta, ci);
  }
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_MATMUL)

}  // namespace ff::cpu
