#include "models/ensemble_loss.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "models/distillation_losses.h"

namespace ff::models {

void validate(const EnsembleLossOptions& options) {
  if (!std::isfinite(options.label_weight) || options.label_weight < 0)
    throw std::invalid_argument("ensemble label weight must be finite and >= 0, got " +
                                std::to_string(options.label_weight));
  if (!std::isfinite(options.kl_weight) || options.kl_weight < 0)
    throw std::invalid_argument("ensemble KL weight must be finite and >= 0, got " + std::to_string(options.kl_weight));
  if (!std::isfinite(options.temperature) || !(options.temperature > 0))
    throw std::invalid_argument("ensemble temperature must be finite and > 0, got " +
                                std::to_string(options.temperature));
}

EnsembleLosses ensemble_losses(const NeXtVladOutput& out, const Tensor& labels, const EnsembleLossOptions& options) {
  validate(options);
  if (out.branch_logits.size() < 2)
    throw std::invalid_argument("ensemble losses need the output of an ensemble (2 or more branches), got " +
                                std::to_string(out.branch_logits.size()));
  const double batch = double(out.logits.size(0)), inverse_t = 1.0 / options.temperature;
  // log_softmax, not log(softmax): at T = 3 a logit gap of a few hundred underflows softmax to 0.
  const Tensor log_p_e = log_softmax(scale(out.logits, inverse_t));
  const Tensor p_e = exp(log_p_e);
  EnsembleLosses result;
  Tensor branch_label, kl;
  for (const Tensor& z : out.branch_logits) {
    Tensor label = label_loss(z, labels);
    Tensor divergence = scale(sum_all(mul(p_e, sub(log_p_e, log_softmax(scale(z, inverse_t))))), 1.0 / batch);
    branch_label = branch_label.defined() ? add(branch_label, label) : label;
    kl = kl.defined() ? add(kl, divergence) : divergence;
  }
  result.total = add(scale(branch_label, options.label_weight), scale(kl, options.kl_weight));
  // Both values in one copy to the host: each read is a device synchronisation.
  std::vector<double> values =
      concat({reshape(branch_label, {1}), reshape(kl, {1})}, 0).detach().to(Device::cpu()).to(DType::Float64).to_vector<double>();
  result.branch_label = values[0];
  result.kl = values[1];
  return result;
}

}  // namespace ff::models
