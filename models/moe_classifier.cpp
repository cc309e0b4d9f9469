#include "models/moe_classifier.h"

#include <stdexcept>

#include "engine/ops.h"

namespace ff {
namespace {

// max(x, floor) = floor + relu(x - floor); the gradient is 0 below the floor, as a clamp's.
Tensor at_least(const Tensor& x, double floor) {
  Tensor constant = Tensor::full({1}, floor, x.dtype(), x.device());
  return add(relu(sub(x, constant)), constant);
}

}  // namespace

Tensor mixture_of_experts_logits(const Tensor& gate_activations, const Tensor& expert_activations, int64_t mixtures) {
  if (mixtures < 1 || gate_activations.dim() != 2 || expert_activations.dim() != 2 ||
      gate_activations.size(0) != expert_activations.size(0) || gate_activations.size(1) % (mixtures + 1) != 0 ||
      expert_activations.size(1) != gate_activations.size(1) / (mixtures + 1) * mixtures)
    throw std::invalid_argument("mixture of experts: gate activations " + gate_activations.str() +
                                " and expert activations " + expert_activations.str() + " do not fit " +
                                std::to_string(mixtures) + " mixtures");
  const int64_t batch = gate_activations.size(0), classes = gate_activations.size(1) / (mixtures + 1);
  Tensor gates = softmax(reshape(gate_activations, {batch, classes, mixtures + 1}));
  Tensor expert_gates = slice(gates, 2, 0, mixtures);                    // [B, C, m]
  Tensor none_gate = reshape(slice(gates, 2, mixtures, mixtures + 1), {batch, classes});
  Tensor experts = reshape(expert_activations, {batch, classes, mixtures});
  Tensor probability = sum(mul(expert_gates, sigmoid(experts)), {2});   // p
  Tensor complement = add(none_gate, sum(mul(expert_gates, sigmoid(scale(experts, -1.0))), {2}));  // 1 - p
  return sub(log(at_least(probability, kMoeProbabilityEpsilon)), log(at_least(complement, kMoeProbabilityEpsilon)));
}

MoeClassifier::MoeClassifier(const std::string& prefix, int64_t hidden_size, int64_t num_classes, int64_t mixtures,
                             ModelInit& init)
    : mixtures_(mixtures) {
  if (hidden_size <= 0 || num_classes <= 0 || mixtures < 1)
    throw std::invalid_argument(prefix + ": invalid mixture of experts (H=" + std::to_string(hidden_size) +
                                ", C=" + std::to_string(num_classes) + ", m=" + std::to_string(mixtures) + ")");
  const int64_t gates = num_classes * (mixtures + 1), experts = num_classes * mixtures;
  gate_weight_ = init.glorot_uniform(prefix + ".gate.weight", {gates, hidden_size}, hidden_size, gates, true);
  gate_bias_ = init.zeros(prefix + ".gate.bias", {gates}, true);
  experts_weight_ = init.glorot_uniform(prefix + ".experts.weight", {experts, hidden_size}, hidden_size, experts, true);
  experts_bias_ = init.zeros(prefix + ".experts.bias", {experts}, true);
}

Tensor MoeClassifier::forward(const Tensor& hidden) const {
  return mixture_of_experts_logits(bias_add(linear(hidden, gate_weight_), gate_bias_),
                                   bias_add(linear(hidden, experts_weight_), experts_bias_), mixtures_);
}

int64_t MoeClassifier::parameter_count(int64_t hidden_size, int64_t num_classes, int64_t mixtures) {
  return (hidden_size + 1) * num_classes * (2 * mixtures + 1);
}

}  // namespace ff
