// Reductions along one axis of a tensor viewed as [outer, n, inner], and the matching broadcast.
#pragma once
#include "kernels/common.h"

#define FF_REDUCE_KERNELS                                                                       \
  /* y[o, i] = scale * sum_j x[o, j, i]: sum (scale 1) and mean (scale 1/n) */                  \
  template <class T>                                                                            \
  void sum_axis(::ff::AxisView view, const T* x, T* y, T scale);                                \
  /* x[o, j, i] = scale * y[o, i]: the backward of sum_axis */                                  \
  template <class T>                                                                            \
  void broadcast_axis(::ff::AxisView view, const T* y, T* x, T scale);                          \
  /* result[0] = sum_i x[i]^2, written to result (a device pointer on CUDA) */                  \
  template <class T>                                                                            \
  void sum_squares(const T* x, int64_t n, T* result);

namespace ff::cpu {
FF_REDUCE_KERNELS
}
namespace ff::cuda {
FF_REDUCE_KERNELS
}

// Both backends instantiate exactly this list.
#define FF_INSTANTIATE_REDUCE(T)                                    \
  template void sum_axis<T>(::ff::AxisView, const T*, T*, T);       \
  template void broadcast_axis<T>(::ff::AxisView, const T*, T*, T); \
  template void sum_squares<T>(const T*, int64_t, T*);
