// Softmax along the last axis of a [rows, n] tensor, and its backward dx = y * (dy - sum(dy * y)).
// Log-softmax along the same axis, y = x - max - log(sum(exp(x - max))), and its backward
// dx = dy - exp(y) * sum(dy): it stays finite where log(softmax(x)) underflows to log(0) = -inf.
#pragma once
#include "kernels/common.h"

#define FF_SOFTMAX_KERNELS                                                          \
  template <class T>                                                                \
  void softmax_forward(int64_t rows, int64_t n, const T* x, T* y);                  \
  template <class T>                                                                \
  void softmax_backward(int64_t rows, int64_t n, const T* y, const T* dy, T* dx);   \
  template <class T>                                                                \
  void log_softmax_forward(int64_t rows, int64_t n, const T* x, T* y);              \
  template <class T>                                                                \
  void log_softmax_backward(int64_t rows, int64_t n, const T* y, const T* dy, T* dx);

namespace ff::cpu {
FF_SOFTMAX_KERNELS
}
namespace ff::cuda {
FF_SOFTMAX_KERNELS
}

#define FF_INSTANTIATE_SOFTMAX(T)                                                \
  template void softmax_forward<T>(int64_t, int64_t, const T*, T*);              \
  template void softmax_backward<T>(int64_t, int64_t, const T*, const T*, T*);   \
  template void log_softmax_forward<T>(int64_t, int64_t, const T*, T*);          \
  template void log_softmax_backward<T>(int64_t, int64_t, const T*, const T*, T*);
