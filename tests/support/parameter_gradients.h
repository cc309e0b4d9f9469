// Central-difference checks of a model's gradients in float64, for the model-level tests: every element of
// every named tensor (parameters and inputs) is moved by +-step and the change of a scalar objective is
// compared with the gradient backward() left on the tensor.
#pragma once
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/autograd.h"
#include "engine/parameters.h"
#include "engine/random.h"
#include "engine/tensor.h"

namespace ff::test {

// Moves every trainable parameter away from its initial value (zero biases, unit gammas), so a check does
// not sit on special points.
inline void perturb_parameters(ParameterSet& parameters, uint64_t seed, double amplitude = 0.3) {
  Generator generator(seed);
  for (Parameter& p : parameters.all()) {
    if (!p.trainable) continue;
    Tensor noise = Tensor::uniform(p.value.shape(), -amplitude, amplitude, generator, DType::Float64);
    double* x = p.value.data<double>();
    const double* n = noise.data<double>();
    for (int64_t e = 0; e < p.value.numel(); ++e) x[e] += n[e];
  }
}

struct NamedGradientReport {
  double max_error = 0;  // max |analytic - numeric| / max(1, |numeric|); infinite on a NaN or a missing grad
  std::string where;
};

// `objective` builds the scalar from the current values; call it and backward() once before this, so every
// tensor holds its analytic gradient.
inline NamedGradientReport check_named_gradients(const std::function<Tensor()>& objective,
                                                 const std::vector<std::pair<std::string, Tensor>>& tensors,
                                                 double step = 1e-6) {
  NoGradGuard no_grad;
  NamedGradientReport report;
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.grad().defined()) return {INFINITY, name + ": no gradient"};
    std::vector<double> analytic = tensor.grad().to_vector<double>();
    double* x = tensor.data<double>();
    for (int64_t e = 0; e < tensor.numel(); ++e) {
      const double saved = x[e];
      x[e] = saved + step;
      const double plus = objective().item();
      x[e] = saved - step;
      const double minus = objective().item();
      x[e] = saved;
      const double numeric = (plus - minus) / (2 * step);
      double error = std::fabs(analytic[size_t(e)] - numeric) / std::max(1.0, std::fabs(numeric));
      if (std::isnan(error)) error = INFINITY;
      if (error > report.max_error) {
        report.max_error = error;
        report.where = name + "[" + std::to_string(e) + "]: analytic " + std::to_string(analytic[size_t(e)]) +
                       " numeric " + std::to_string(numeric);
      }
    }
  }
  return report;
}

}  // namespace ff::test
