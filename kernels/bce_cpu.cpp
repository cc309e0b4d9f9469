#include "kernels/bce.h"
#include "kernels/instantiate.h"

namespace ff::cpu {

template <class T>
void bce_with_logits_forward(const T* x, const T* z, T* loss, int64_t n) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) loss[i] = bce_with_logits_value(x[i], z[i]);
}

template <class T>
void bce_with_logits_backward(const T* x, const T* z, const T* dloss, T* dx, T* dz, int64_t n) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    if (dx) dx[i] = dloss[i] * (bce_sigmoid(x[i]) - z[i]);
    if (dz) dz[i] = -dloss[i] * x[i];
  }
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_BCE)

}  // namespace ff::cpu
