#include "kernels/dequantize.h"

namespace ff::cpu {

void dequantize(const uint8_t* q, float* y, int64_t n) {
#pragma omp parallel for simd if (n > (1 << 18))
  for (int64_t i = 0; i < n; ++i) y[i] = dequantize_value(q[i]);
}

}  // namespace ff::cpu
