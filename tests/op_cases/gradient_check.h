// Helpers shared by the op suites: a scalar objective over an op's output and central finite differences.
#pragma once
#include <vector>

#include "engine/tensor.h"
#include "op_cases/op_case.h"

namespace ff::test {

// sum(output * weights) with fixed pseudo-random weights, so every output element matters to the gradient.
Tensor weighted_objective(const Tensor& output, uint64_t seed);

struct GradientReport {
  double max_error = 0;   // max |analytic - numeric| / max(1, |numeric|)
  std::string where;      // the input and element of the worst error
  bool finite = true;
};

// Compares backward() with central differences of step `step` on every element of every differentiable
// input (float64 on the CPU).
GradientReport check_gradients(const OpCase& c, uint64_t seed, double step = 1e-6);

// Normwise relative error ||a - b|| / max(||b||, tiny); NaN when either holds a NaN.
double relative_error(const Tensor& a, const Tensor& b);

}  // namespace ff::test
