// The largest element-wise difference of two same-sized tensors, read as float64: the model-level tests
// use it to show that padded frames change nothing (exactly 0) or that they leak in.
#pragma once
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/tensor.h"

namespace ff::test {

inline double max_abs_difference(const Tensor& a, const Tensor& b) {
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  REQUIRE(va.size() == vb.size());
  double worst = 0;
  for (size_t i = 0; i < va.size(); ++i) worst = std::max(worst, std::fabs(va[i] - vb[i]));
  return worst;
}

}  // namespace ff::test
