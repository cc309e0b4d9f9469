// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"): a counter-based generator.
// Element i of a stream (seed, offset) depends only on (seed, offset + i), so the CPU reference and the
// CUDA kernels produce the same numbers whatever the thread layout, and a run is reproducible from its seed.
#pragma once
#include <cmath>

#include "kernels/common.h"

namespace ff::philox {

struct Block {
  uint32_t v[4];
};

FF_HD uint32_t mulhi32(uint32_t a, uint32_t b) { return uint32_t((uint64_t(a) * uint64_t(b)) >> 32); }

// The full 128-bit counter, 64-bit key form (checked against the Random123 known-answer vectors).
FF_HD Block generate(Block counter, uint32_t k0, uint32_t k1) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  uint32_t c0 = counter.v[0], c1 = counter.v[1], c2 = counter.v[2], c3 = counter.v[3];
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0 = mulhi32(kMul0, c0), lo0 = kMul0 * c0;
    uint32_t hi1 = mulhi32(kMul1, c2), lo1 = kMul1 * c2;
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return Block{{c0, c1, c2, c3}};
}

// The engine's streams use a 64-bit counter and the seed as key.
FF_HD Block generate(uint64_t counter, uint64_t seed) {
  return generate(Block{{uint32_t(counter), uint32_t(counter >> 32), 0u, 0u}}, uint32_t(seed), uint32_t(seed >> 32));
}

// 32 random bits for element `index` of the stream: four consecutive elements share one Philox block.
FF_HD uint32_t bits(uint64_t seed, uint64_t index) { return generate(index >> 2, seed).v[index & 3]; }

// Uniform in [0, 1) with 24 bits of mantissa: exactly representable, identical on every device.
FF_HD float uniform(uint64_t seed, uint64_t index) { return float(bits(seed, index) >> 8) * (1.0f / 16777216.0f); }

// Standard normal by Box-Muller on the pair (2j, 2j+1) of a block, computed in double so that the CPU
// and the GPU round to the same float.
FF_HD double normal(uint64_t seed, uint64_t index) {
  Block b = generate(index >> 1, seed ^ 0x5851F42D4C957F2Dull);
  double u1 = (double(b.v[0]) + 1.0) * (1.0 / 4294967296.0);  // (0, 1]: log is finite
  double u2 = double(b.v[1]) * (1.0 / 4294967296.0);
  double radius = ::sqrt(-2.0 * ::log(u1));  // qualified: ff::log(Tensor) would hide them
  double angle = 6.283185307179586476925286766559 * u2;
  return (index & 1) ? radius * ::sin(angle) : radius * ::cos(angle);
}

}  // namespace ff::philox
