#include "kernels/dropout.h"
#include "kernels/instantiate.h"
#include "kernels/philox.h"

namespace ff::cpu {

template <class T>
void dropout_apply(const T* x, T* y, int64_t n, uint64_t seed, uint64_t offset, double rate) {
  const T scale = T(1.0 / (1.0 - rate));
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i)
    y[i] = dropout_keeps(philox::uniform(seed, offset + uint64_t(i)), rate) ? x[i] * scale : T(0);
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_DROPOUT)

}  // namespace ff::cpu
