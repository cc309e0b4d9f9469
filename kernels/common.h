// Shared by the CPU references (g++) and the CUDA kernels (nvcc): host/device markers, sizes, bfloat16.
#pragma once
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define FF_HD __host__ __device__ __forceinline__
#else
#define FF_HD inline
#endif

namespace ff {

// bfloat16 as its 16 raw bits; arithmetic always happens in float.
struct bfloat16 {
  uint16_t bits;
};

FF_HD float bf16_to_float(bfloat16 v) {
  uint32_t u = uint32_t(v.bits) << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

// Round to nearest even, NaN kept quiet (the rounding must not carry a NaN payload into infinity).
FF_HD bfloat16 float_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bfloat16{uint16_t((u >> 16) | 0x40u)};
  u += 0x7fffu + ((u >> 16) & 1u);
  return bfloat16{uint16_t(u >> 16)};
}

// A tensor viewed as [outer, n, inner] around one axis: the shape every axis-wise kernel takes.
struct AxisView {
  int64_t outer = 1, n = 1, inner = 1;
};

}  // namespace ff
