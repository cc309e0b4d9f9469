// L2 normalisation along one axis of a tensor viewed as [outer, n, inner], as tf.nn.l2_normalize:
// y = x / s with s = sqrt(max(sum_j x_j^2, epsilon)). The forward also writes s per (outer, inner) for the
// backward: dx_j = dy_j / s - x_j * sum_k(dy_k x_k) / s^3 where the sum of squares exceeds epsilon, and
// dx_j = dy_j / s where epsilon clamps it (s is then a constant). The clamp test uses the sum of squares
// (never s * s, whose rounding could flip it).
#pragma once
#include "kernels/common.h"

#define FF_L2_NORMALIZE_KERNELS                                                                         \
  template <class T>                                                                                    \
  void l2_normalize_forward(::ff::AxisView view, const T* x, T* y, T* norm, T epsilon);                  \
  template <class T>                                                                                    \
  void l2_normalize_backward(::ff::AxisView view, const T* x, const T* norm, const T* dy, T* dx, T epsilon);

namespace ff::cpu {
FF_L2_NORMALIZE_KERNELS
}
namespace ff::cuda {
FF_L2_NORMALIZE_KERNELS
}

#define FF_INSTANTIATE_L2_NORMALIZE(T)                                                   \
  template void l2_normalize_forward<T>(::ff::AxisView, const T*, T*, T*, T);            \
  template void l2_normalize_backward<T>(::ff::AxisView, const T*, const T*, const T*, T*, T);
