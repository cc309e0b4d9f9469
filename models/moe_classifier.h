// The mixture-of-experts video-level classifier of the YouTube-8M starter code (MoeModel; the NetVLAD and
// H-RNN teachers of shared/reference/paper-and-nextvlad.md §2.2, §6 use it with 2 mixtures). For each class
// c a softmax gate over m + 1 entries, m experts and a dummy "none" expert that always says 0, weighs m
// sigmoid experts: p_c = sum_{e<m} gate_ce * sigmoid(expert_ce).
//
// The model's contract is logits (the losses take logits), so the classifier returns logit(p_c) =
// log p_c - log(1 - p_c) with p_c clamped to [eps, 1 - eps], eps = 1e-7. 1 - p_c is not formed by a
// subtraction, which would lose every digit when p_c is near 1, but as its own sum of positive terms:
// 1 - p_c = gate_c,none + sum_e gate_ce * sigmoid(-expert_ce).
#pragma once
#include <cstdint>
#include <string>

#include "engine/tensor.h"
#include "models/layers.h"

namespace ff {

constexpr double kMoeProbabilityEpsilon = 1e-7;

// gate_activations [B, C*(m+1)] (index c*(m+1) + e, the dummy expert last), expert_activations [B, C*m]
// (index c*m + e) -> logits [B, C] as above. Differentiable (engine ops only).
Tensor mixture_of_experts_logits(const Tensor& gate_activations, const Tensor& expert_activations, int64_t mixtures);

class MoeClassifier {
 public:
  // Registers "<prefix>.gate.weight" [C*(m+1), H], "<prefix>.gate.bias" [C*(m+1)], "<prefix>.experts.weight"
  // [C*m, H], "<prefix>.experts.bias" [C*m] (the PyTorch layout, as every FC of the head), all L2-regularised
  // like the logistic classifier; weights Glorot uniform (slim's default), biases 0.
  MoeClassifier(const std::string& prefix, int64_t hidden_size, int64_t num_classes, int64_t mixtures, ModelInit& init);

  // hidden [B, H] -> logits [B, C].
  Tensor forward(const Tensor& hidden) const;

  // Trainable elements: (H + 1) * C * (2m + 1).
  static int64_t parameter_count(int64_t hidden_size, int64_t num_classes, int64_t mixtures);

 private:
  int64_t mixtures_;
  Tensor gate_weight_, gate_bias_, experts_weight_, experts_bias_;
};

}  // namespace ff
