// The NeXtVLAD residual aggregation and intra-normalisation (shared/reference/paper-and-nextvlad.md §2.1
// steps 5-7), per video b, over the R = M*G (frame, group) rows of its assignment a [B, R, K] and grouped
// features x [B, R, D] (D = D_g), with the cluster centres c [D, K]:
//
//   s[b, k]    = sum_i a[b, i, k]
//   r[b, d, k] = sum_i x[b, i, d] * a[b, i, k] - s[b, k] * c[d, k]             = sum_i a (x - c), summed form
//   n[b, k]    = sqrt(max(sum_d r[b, d, k]^2, epsilon))                          as tf.nn.l2_normalize
//   v[b, d, k] = r[b, d, k] / n[b, k]                                            d-major, k-minor: the flattening
//
// The product is one strided-batched GEMM per call (x^T a, [D, R] x [R, K] per video; OpenBLAS on the CPU,
// cuBLAS on CUDA) and everything else is an epilogue over the [B, D, K] result, so the [R, K, D] tensor of
// residuals x - c is never formed.
//
// Backward, given dv:
//
//   dr[b, d, k] = (dv - v * sum_d(dv * v)) / n        the correction dropped where epsilon clamped n
//   ds[b, k]    = -sum_d dr[b, d, k] * c[d, k]
//   dc[d, k]    = -sum_b s[b, k] * dr[b, d, k]
//   dx[b, i, d] = sum_k a[b, i, k] * dr[b, d, k]      GEMM [R, K] x [K, D]
//   da[b, i, k] = sum_d x[b, i, d] * dr[b, d, k] + ds[b, k]   GEMM [R, D] x [D, K] onto ds broadcast over i
//
// "Clamped" is decided from the saved norm: n <= sqrt(epsilon) (rounded to T), which is where the forward's
// max took epsilon (up to the rounding of a sum of squares within an ulp of epsilon).
#pragma once
#include "kernels/common.h"

namespace ff {

struct NeXtVladAggregationShape {
  int64_t batch = 0;     // B videos
  int64_t rows = 0;      // R = frames * groups per video
  int64_t clusters = 0;  // K
  int64_t features = 0;  // D = the group size D_g
};

}  // namespace ff

#define FF_NEXTVLAD_AGGREGATION_KERNELS                                                                         \
  /* vlad [B, D, K], assignment_sum s [B, K] and norms n [B, K] as above. */                                    \
  template <class T>                                                                                            \
  void nextvlad_aggregation_forward(const ::ff::NeXtVladAggregationShape& shape, const T* assignment,           \
                                    const T* features, const T* centres, T epsilon, T* vlad, T* assignment_sum, \
                                    T* norms);                                                                  \
  /* Gradients of the assignment [B, R, K], the features [B, R, D] and the centres [D, K]; any of the three */ \
  /* may be null (not computed). dresidual [B, D, K] and dassignment_sum [B, K] are the caller's scratch. */     \
  template <class T>                                                                                            \
  void nextvlad_aggregation_backward(const ::ff::NeXtVladAggregationShape& shape, const T* dvlad, const T* vlad, \
                                     const T* norms, const T* assignment_sum, const T* assignment,              \
                                     const T* features, const T* centres, T epsilon, T* dresidual,              \
                                     T* dassignment_sum, T* dassignment, T* dfeatures, T* dcentres);

namespace ff::cpu {
FF_NEXTVLAD_AGGREGATION_KERNELS
}
namespace ff::cuda {
FF_NEXTVLAD_AGGREGATION_KERNELS
}

// Both backends instantiate exactly this list.
#define FF_INSTANTIATE_NEXTVLAD_AGGREGATION(T)                                                                   \
  template void nextvlad_aggregation_forward<T>(const ::ff::NeXtVladAggregationShape&, const T*, const T*,     \
                                                const T*, T, T*, T*, T*);                                      \
  template void nextvlad_aggregation_backward<T>(const ::ff::NeXtVladAggregationShape&, const T*, const T*,    \
                                                 const T*, const T*, const T*, const T*, const T*, T, T*, T*,  \
                                                 T*, T*, T*);
