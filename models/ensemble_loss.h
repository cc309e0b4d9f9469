// The on-the-fly distillation of an ensemble (the NeXtVLAD paper's mixture, shared/reference/
// paper-and-nextvlad.md §2.4): besides the label loss of the mixture, every branch m is trained on the
// labels and pulled towards the mixture's class distribution,
//
//   L_ens = label_weight * sum_m L_CE(z_m)  +  kl_weight * sum_m mean_b sum_c p_e (log p_e - log p_m),
//
// with p_e = softmax_c(z_e / T) of the mixture logits and p_m = softmax_c(z_m / T) of branch m (a softmax
// over the classes, as the reference code's "rank soft prediction"). The mixture is not detached: as in
// the reference, the KL also moves the mixture (and so the gate) towards the branches. The defaults are the
// final submission's: T = 3 and a weight of 9 = T^2, no further T^2 factor.
#pragma once
#include "engine/tensor.h"
#include "models/nextvlad.h"

namespace ff::models {

struct EnsembleLossOptions {
  double kl_weight = 9.0;
  double temperature = 3.0;
  // Weight of the branches' own label losses: the run's label weight, so that a student distilled without
  // labels (label weight 0) gives its branches none either. 1 for a teacher or a Uniform-k run.
  double label_weight = 1.0;
};

struct EnsembleLosses {
  Tensor total;               // [] label_weight * branch_label + kl_weight * kl, differentiable
  double branch_label = 0.0;  // sum over the branches of their label losses (batch means)
  double kl = 0.0;            // sum over the branches of KL(p_e || p_m) (batch means), unweighted
};

// Checks the weights (finite, >= 0) and the temperature (finite, > 0); throws std::invalid_argument.
void validate(const EnsembleLossOptions& options);

// L_ens of an ensemble's output (out.branch_logits and out.logits, the mixture) against 0/1 labels [B, C].
// Throws std::invalid_argument for the output of a single model (no branches).
EnsembleLosses ensemble_losses(const NeXtVladOutput& out, const Tensor& labels, const EnsembleLossOptions& options);

}  // namespace ff::models
