#include "kernels/dequantize_gather.h"

namespace ff::cpu {

void dequantize_gather(int64_t batch, int64_t frames, int64_t size, int64_t k, const uint8_t* q,
                       const int32_t* indices, float* y) {
  const float padding = dequantize_value(0);
#pragma omp parallel for if (batch * k * size > (1 << 18))
  for (int64_t slot = 0; slot < batch * k; ++slot) {
    const int64_t b = slot / k, index = indices[slot];
    float* out = y + slot * size;
    if (index < 0 || index >= frames) {
      for (int64_t d = 0; d < size; ++d) out[d] = padding;
      continue;
    }
    const uint8_t* in = q + (b * frames + index) * size;
    for (int64_t d = 0; d < size; ++d) out[d] = dequantize_value(in[d]);
  }
}

}  // namespace ff::cpu
