// Inverted dropout on a Philox stream: element i is kept iff philox::uniform(seed, offset + i) >= rate,
// and kept elements are multiplied by 1 / (1 - rate). The mask is a pure function of (seed, offset, i),
// so the backward pass recomputes it instead of storing it, and the CPU and the GPU agree bit for bit.
#pragma once
#include "kernels/common.h"

namespace ff {

// Whether stream element `index` keeps its value: one expression for both backends.
FF_HD bool dropout_keeps(float uniform, double rate) { return double(uniform) >= rate; }

}  // namespace ff

#define FF_DROPOUT_KERNELS                                                                                     \
  /* y[i] = keep(i) ? x[i] * scale : 0, with scale = 1 / (1 - rate) rounded to T once. The backward is the */ \
  /* same call on the output gradient. x and y may alias. */                                                  \
  template <class T>                                                                                           \
  void dropout_apply(const T* x, T* y, int64_t n, uint64_t seed, uint64_t offset, double rate);

namespace ff::cpu {
FF_DROPOUT_KERNELS
}
namespace ff::cuda {
FF_DROPOUT_KERNELS
}

// Both backends instantiate exactly this list.
#define FF_INSTANTIATE_DROPOUT(T) \
  template void dropout_apply<T>(const T*, T*, int64_t, uint64_t, uint64_t, double);
