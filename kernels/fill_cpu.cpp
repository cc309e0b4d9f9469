#include "kernels/fill.h"

#include "kernels/instantiate.h"
#include "kernels/philox.h"

namespace ff::cpu {

template <class T>
void fill(T* y, int64_t n, T value) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) y[i] = value;
}

template <class T>
void fill_uniform(T* y, int64_t n, uint64_t seed, uint64_t offset, double lo, double hi) {
#pragma omp parallel for if (n > (1 << 14))
  for (int64_t i = 0; i < n; ++i)
    y[i] = convert_value<T>(lo + (hi - lo) * double(philox::uniform(seed, offset + uint64_t(i))));
}

template <class T>
void fill_normal(T* y, int64_t n, uint64_t seed, uint64_t offset, double mean, double std) {
#pragma omp parallel for if (n > (1 << 14))
  for (int64_t i = 0; i < n; ++i) y[i] = convert_value<T>(mean + std * philox::normal(seed, offset + uint64_t(i)));
}

template <class From, class To>
void cast(const From* x, To* y, int64_t n) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) y[i] = convert_value<To>(x[i]);
}

FF_FOR_ALL_TYPES(FF_INSTANTIATE_FILL)
FF_FOR_ALL_TYPE_PAIRS(FF_INSTANTIATE_CAST)

}  // namespace ff::cpu
