// Binary cross-entropy of sigmoid(x) against labels z, elementwise, in the form that neither overflows
// nor loses precision for large |x|: max(x, 0) - x * z + log1p(exp(-|x|)).
#pragma once
#include <cmath>

#include "kernels/common.h"

namespace ff {

// The math calls are qualified with std:: so that ff::exp and ff::log (tensor ops, engine/ops.h) cannot
// hide them in a translation unit that sees both headers.
template <class T>
FF_HD T bce_with_logits_value(T x, T z) {
  return (x > T(0) ? x : T(0)) - x * z + std::log1p(std::exp(-std::fabs(x)));
}

// sigmoid(x) without overflow: exp is only taken of a non-positive number.
template <class T>
FF_HD T bce_sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  T e = std::exp(x);
  return e / (T(1) + e);
}

}  // namespace ff

#define FF_BCE_KERNELS                                                                                       \
  /* loss[i] = bce(x[i], z[i]) */                                                                            \
  template <class T>                                                                                         \
  void bce_with_logits_forward(const T* x, const T* z, T* loss, int64_t n);                                  \
  /* dx[i] = dloss[i] * (sigmoid(x[i]) - z[i]), dz[i] = -dloss[i] * x[i]; either output may be null */       \
  template <class T>                                                                                         \
  void bce_with_logits_backward(const T* x, const T* z, const T* dloss, T* dx, T* dz, int64_t n);

namespace ff::cpu {
FF_BCE_KERNELS
}
namespace ff::cuda {
FF_BCE_KERNELS
}

// Both backends instantiate exactly this list.
#define FF_INSTANTIATE_BCE(T)                                                \
  template void bce_with_logits_forward<T>(const T*, const T*, T*, int64_t); \
  template void bce_with_logits_backward<T>(const T*, const T*, const T*, T*, T*, int64_t);
