// YouTube-8M feature quantisation, exactly as the starter code's feature extractor
// (feature_extractor/extract_tfrecords_main.py, quantize with min -2, max 2):
//   x = clip(x, -2, 2);  t = (x + 2) * (255 / 4)  in float32 (numpy keeps the float32 array's type);
//   q = int(round(t))    where Python 3's round of a numpy float32 rounds half to EVEN.
// So -2 -> 0, 2 -> 255, 0 -> 127.5 -> 128, and a value that lands exactly on n + 0.5 goes to the even
// neighbour (64.5 -> 64, 65.5 -> 66); Python 2's round, half away from zero, would give 65 and 66.
// There is no half-bin offset: kernels/dequantize.h adds 4/512 back, so dequantize(quantize(x)) lies
// within 4/255/2 + 4/512 of x for x in [-2, 2].
#pragma once
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace ff::data {

constexpr float kQuantizeMin = -2.0f;
constexpr float kQuantizeMax = 2.0f;
constexpr float kQuantizeScale = 255.0f / 4.0f;  // 63.75, exact in float32

// NaN is not a feature value: it maps to 0 here (callers with untrusted input use quantize below).
inline uint8_t quantize_value(float x) {
  if (!(x > kQuantizeMin)) return 0;  // also NaN
  if (x > kQuantizeMax) x = kQuantizeMax;
  float t = (x - kQuantizeMin) * kQuantizeScale;  // float32 arithmetic, as numpy does it
  float below = std::floor(t);
  float fraction = t - below;  // exact: t < 256 has at least 15 fraction bits
  bool up = fraction > 0.5f || (fraction == 0.5f && std::fmod(below, 2.0f) != 0.0f);
  return uint8_t(below + (up ? 1.0f : 0.0f));
}

// Quantises n values; a NaN throws std::invalid_argument naming `what` and the position (the starter
// code's int(round(nan)) raises too).
inline void quantize(const float* x, uint8_t* q, int64_t n, const char* what = "features") {
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(x[i]))
      throw std::invalid_argument(std::string("quantize: NaN in ") + what + " at position " + std::to_string(i));
    q[i] = quantize_value(x[i]);
  }
}

}  // namespace ff::data
