// Constant fill, Philox uniform/normal fill and dtype conversion.
#pragma once
#include <limits>
#include <type_traits>

#include "kernels/common.h"

#define FF_FILL_KERNELS                                                                                   \
  template <class T>                                                                                      \
  void fill(T* y, int64_t n, T value);                                                                    \
  /* y[i] = lo + (hi - lo) * U(seed, offset + i) */                                                       \
  template <class T>                                                                                      \
  void fill_uniform(T* y, int64_t n, uint64_t seed, uint64_t offset, double lo, double hi);               \
  /* y[i] = mean + std * N(seed, offset + i) */                                                           \
  template <class T>                                                                                      \
  void fill_normal(T* y, int64_t n, uint64_t seed, uint64_t offset, double mean, double std);             \
  /* y[i] = To(x[i]); float to integer truncates toward zero and saturates (NaN gives 0) */               \
  template <class From, class To>                                                                         \
  void cast(const From* x, To* y, int64_t n);

namespace ff::cpu {
FF_FILL_KERNELS
}
namespace ff::cuda {
FF_FILL_KERNELS
}

namespace ff {
// Element conversion shared by both backends; bfloat16 goes through float.
template <class To, class From>
FF_HD To convert_value(From x) {
  if constexpr (sizeof(From) == sizeof(bfloat16) && requires { x.bits; }) {
    return convert_value<To>(bf16_to_float(x));
  } else if constexpr (sizeof(To) == sizeof(bfloat16) && requires(To t) { t.bits; }) {
    return float_to_bf16(float(x));
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>) {
    // An out-of-range float-to-integer static_cast is undefined (x86 and the GPU disagree on -1.0f to
    // uint8), so both backends saturate. For int64 the upper bound rounds up to 2^63, which is out of
    // range itself, hence ">=".
    constexpr double lowest = double(std::numeric_limits<To>::lowest());
    constexpr double highest = double(std::numeric_limits<To>::max());
    const double v = double(x);
    if (v != v) return To(0);
    if (v <= lowest) return std::numeric_limits<To>::lowest();
    if (v >= highest) return std::numeric_limits<To>::max();
    return static_cast<To>(v);
  } else {
    return static_cast<To>(x);
  }
}
}  // namespace ff

// Both backends instantiate exactly this list.
#define FF_INSTANTIATE_FILL(T)                                                       \
  template void fill<T>(T*, int64_t, T);                                             \
  template void fill_uniform<T>(T*, int64_t, uint64_t, uint64_t, double, double);    \
  template void fill_normal<T>(T*, int64_t, uint64_t, uint64_t, double, double);
#define FF_INSTANTIATE_CAST(From, To) template void cast<From, To>(const From*, To*, int64_t);
