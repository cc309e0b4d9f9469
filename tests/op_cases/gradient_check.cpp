#include "op_cases/gradient_check.h"

#include <cmath>
#include <string>

#include "engine/autograd.h"
#include "engine/ops.h"

namespace ff::test {

Tensor weighted_objective(const Tensor& output, uint64_t seed) {
  Generator generator(seed ^ 0xABCDEF);
  Tensor weights = Tensor::uniform(output.shape(), -1.0, 1.0, generator, output.dtype(), output.device());
  return sum_all(mul(output, weights));
}

GradientReport check_gradients(const OpCase& c, uint64_t seed, double step) {
  std::vector<Tensor> inputs = make_inputs(c, DType::Float64, Device::cpu(), seed);
  Tensor objective = weighted_objective(c.build(inputs), seed);
  objective.backward();

  GradientReport report;
  NoGradGuard no_grad;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!c.inputs[i].differentiable()) continue;
    Tensor grad = inputs[i].grad();
    std::vector<double> analytic = grad.defined() ? grad.to_vector<double>()
                                                  : std::vector<double>(size_t(inputs[i].numel()), 0.0);
    double* x = inputs[i].data<double>();
    for (int64_t e = 0; e < inputs[i].numel(); ++e) {
      double saved = x[e];
      x[e] = saved + step;
      double plus = weighted_objective(c.build(inputs), seed).item();
      x[e] = saved - step;
      double minus = weighted_objective(c.build(inputs), seed).item();
      x[e] = saved;
      double numeric = (plus - minus) / (2 * step);
      double error = std::fabs(analytic[size_t(e)] - numeric) / std::max(1.0, std::fabs(numeric));
      if (!std::isfinite(analytic[size_t(e)]) || !std::isfinite(numeric)) {
        report.finite = false;
        error = INFINITY;
      }
      if (error > report.max_error || !std::isfinite(error)) {
        report.max_error = error;
        report.where = "input " + std::to_string(i) + " element " + std::to_string(e) + ": analytic " +
                       std::to_string(analytic[size_t(e)]) + " numeric " + std::to_string(numeric);
      }
    }
  }
  return report;
}

double relative_error(const Tensor& a, const Tensor& b) {
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  if (va.size() != vb.size()) return NAN;
  double diff = 0, norm = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    if (std::isnan(va[i]) || std::isnan(vb[i])) return NAN;
    diff += (va[i] - vb[i]) * (va[i] - vb[i]);
    norm += vb[i] * vb[i];
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
}

}  // namespace ff::test
