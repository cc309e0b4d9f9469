#include <catch2/catch.hpp>
#include <cmath>

#include "engine/tensor.h"
#include "kernels/philox.h"

namespace ff {

TEST_CASE("Philox4x32-10 matches the Random123 known-answer vectors", "[random]") {
  using philox::Block;
  Block zero = philox::generate(Block{{0, 0, 0, 0}}, 0, 0);
  CHECK(zero.v[0] == 0x6627e8d5u);
  CHECK(zero.v[1] == 0xe169c58du);
  CHECK(zero.v[2] == 0xbc57ac4cu);
  CHECK(zero.v[3] == 0x9b00dbd8u);
  Block ones = philox::generate(Block{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu, 0xffffffffu);
  CHECK(ones.v[0] == 0x408f276du);
  CHECK(ones.v[1] == 0x41c83b0eu);
  CHECK(ones.v[2] == 0xa20bc7c6u);
  CHECK(ones.v[3] == 0x6d5451fdu);
  Block pi = philox::generate(Block{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u, 0x299f31d0u);
  CHECK(pi.v[0] == 0xd16cfe09u);
  CHECK(pi.v[1] == 0x94fdccebu);
  CHECK(pi.v[2] == 0x5001e420u);
  CHECK(pi.v[3] == 0x24126ea1u);
}

TEST_CASE("uniform and normal fills have the right moments and are reproducible", "[random]") {
  Generator a(42), b(42);
  Tensor u = Tensor::uniform({200000}, -1.0, 3.0, a);
  std::vector<float> values = u.to_vector<float>();
  double mean = 0, lo = 1e9, hi = -1e9;
  for (float v : values) mean += v, lo = std::min(lo, double(v)), hi = std::max(hi, double(v));
  mean /= double(values.size());
  CHECK(mean == Approx(1.0).margin(0.02));
  CHECK(lo >= -1.0);
  CHECK(hi < 3.0);
  CHECK(Tensor::uniform({200000}, -1.0, 3.0, b).to_vector<float>() == values);

  Tensor z = Tensor::normal({200000}, 2.0, 0.5, a, DType::Float64);
  std::vector<double> normal = z.to_vector<double>();
  double m = 0, m2 = 0;
  for (double v : normal) m += v, m2 += v * v;
  m /= double(normal.size());
  double variance = m2 / double(normal.size()) - m * m;
  CHECK(m == Approx(2.0).margin(0.01));
  CHECK(std::sqrt(variance) == Approx(0.5).margin(0.01));
}

TEST_CASE("a generator's draws follow each other in one stream", "[random]") {
  Generator whole(7), parts(7);
  std::vector<float> all = Tensor::uniform({10}, 0, 1, whole).to_vector<float>();
  std::vector<float> first = Tensor::uniform({4}, 0, 1, parts).to_vector<float>();
  std::vector<float> second = Tensor::uniform({6}, 0, 1, parts).to_vector<float>();
  first.insert(first.end(), second.begin(), second.end());
  CHECK(first == all);
  CHECK(parts.offset() == 10);
  Generator other_seed(8);
  CHECK(Tensor::uniform({10}, 0, 1, other_seed).to_vector<float>() != all);
}

}  // namespace ff
