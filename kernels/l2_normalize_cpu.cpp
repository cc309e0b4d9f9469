#include <cmath>

#include "kernels/instantiate.h"
#include "kernels/l2_normalize.h"

namespace ff::cpu {

template <class T>
void l2_normalize_forward(AxisView v, const T* x, T* y, T* norm, T epsilon) {
#pragma omp parallel for collapse(2) if (v.outer * v.n * v.inner > (1 << 15))
  for (int64_t o = 0; o < v.outer; ++o)
    for (int64_t i = 0; i < v.inner; ++i) {
      const T* p = x + o * v.n * v.inner + i;
      double squares = 0;
      for (int64_t j = 0; j < v.n; ++j) squares += double(p[j * v.inner]) * double(p[j * v.inner]);
      T s = T(std::sqrt(std::max(squares, double(epsilon))));
      norm[o * v.inner + i] = s;
      for (int64_t j = 0; j < v.n; ++j) y[(o * v.n + j) * v.inner + i] = p[j * v.inner] / s;
    }
}

template <class T>
void l2_normalize_backward(AxisView v, const T* x, const T* norm, const T* dy, T* dx, T epsilon) {
#pragma omp parallel for collapse(2) if (v.outer * v.n * v.inner > (1 << 15))
  for (int64_t o = 0; o < v.outer; ++o)
    for (int64_t i = 0; i < v.inner; ++i) {
      int64_t base = o * v.n * v.inner + i;
      T s = norm[o * v.inner + i];
      // The sum of squares is recomputed in the forward's order, so the clamp decision matches exactly.
      double dot = 0, squares = 0;
      for (int64_t j = 0; j < v.n; ++j) {
        dot += double(dy[base + j * v.inner]) * double(x[base + j * v.inner]);
        squares += double(x[base + j * v.inner]) * double(x[base + j * v.inner]);
      }
      bool clamped = squares <= double(epsilon);
      T correction = clamped ? T(0) : T(dot) / (s * s * s);
      for (int64_t j = 0; j < v.n; ++j)
        dx[base + j * v.inner] = dy[base + j * v.inner] / s - x[base + j * v.inner] * correction;
    }
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_L2_NORMALIZE)

}  // namespace ff::cpu
