// YouTube-8M feature dequantisation, exactly as the starter code (utils.Dequantize with max 2, min -2):
// value = q * 4/255 + (4/512 - 2). Frames stay uint8 until here: on the device this runs after the copy.
#pragma once
#include "kernels/common.h"

namespace ff {
constexpr float kDequantizeScale = 4.0f / 255.0f;
constexpr float kDequantizeBias = 4.0f / 512.0f - 2.0f;
// Multiply, round, add, round: no fused multiply-add (which nvcc would use by default), so the device
// gives the same float as the CPU reference and the starter code.
FF_HD float dequantize_value(uint8_t q) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(__fmul_rn(float(q), kDequantizeScale), kDequantizeBias);
#else
  return float(q) * kDequantizeScale + kDequantizeBias;
#endif
}
}  // namespace ff

#define FF_DEQUANTIZE_KERNELS \
  void dequantize(const uint8_t* q, float* y, int64_t n);

namespace ff::cpu {
FF_DEQUANTIZE_KERNELS
}
namespace ff::cuda {
FF_DEQUANTIZE_KERNELS
}
