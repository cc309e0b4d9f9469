#include "kernels/reduce.h"

#include <vector>

#include "kernels/instantiate.h"

namespace ff::cpu {

// Accumulates in double whatever T is, so the reference is at least as accurate as any GPU ordering.
template <class T>
void sum_axis(AxisView v, const T* x, T* y, T scale) {
#pragma omp parallel for collapse(2) if (v.outer * v.inner > 64 && v.outer * v.n * v.inner > (1 << 15))
  for (int64_t o = 0; o < v.outer; ++o)
    for (int64_t i = 0; i < v.inner; ++i) {
      double acc = 0;
      const T* p = x + o * v.n * v.inner + i;
      for (int64_t j = 0; j < v.n; ++j) acc += double(p[j * v.inner]);
      y[o * v.inner + i] = T(acc * double(scale));
    }
}

template <class T>
void broadcast_axis(AxisView v, const T* y, T* x, T scale) {
#pragma omp parallel for if (v.outer * v.n * v.inner > (1 << 16))
  for (int64_t o = 0; o < v.outer; ++o)
    for (int64_t j = 0; j < v.n; ++j)
      for (int64_t i = 0; i < v.inner; ++i) x[(o * v.n + j) * v.inner + i] = scale * y[o * v.inner + i];
}

template <class T>
void sum_squares(const T* x, int64_t n, T* result) {
  double acc = 0;
#pragma omp parallel for reduction(+ : acc) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) acc += double(x[i]) * double(x[i]);
  *result = T(acc);
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_REDUCE)

}  // namespace ff::cpu
