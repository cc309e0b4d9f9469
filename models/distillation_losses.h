// The three losses of teacher-student training (the paper's eqs. 1, 2 and 4). Each separate loss below is
// built from engine ops so autograd gives its gradient, and returns a scalar averaged over the batch: they
// are the readable definitions, and the reference the fused version is tested against. Training uses
// distillation_losses (at the end), which computes the weighted sum of all three in one fused kernel.
// Teacher tensors are passed detached by the caller (serial mode: a frozen teacher; parallel mode: the
// co-trained teacher learns from its own label loss only).
#pragma once
#include <string>

#include "engine/ops.h"
#include "engine/tensor.h"

namespace ff::models {

// L_CE: binary cross-entropy of sigmoid(logits) against 0/1 labels [batch, classes], summed over classes,
// averaged over the batch (the starter code's CrossEntropyLoss, without its epsilon: the logits form is exact).
Tensor label_loss(const Tensor& logits, const Tensor& labels);

// L_rep: the squared L2 distance ||E_T - E_S||^2 between encodings [batch, dim], averaged over the batch.
Tensor representation_loss(const Tensor& teacher_encoding, const Tensor& student_encoding);

// The prediction losses, defined in kernels/distillation_loss.h: CategoricalKL (the paper's code: sigmoid
// outputs normalised to sum 1, then the categorical KL), BernoulliKL (per class), SquaredError.
using PredictionLoss = PredictionLossKind;
PredictionLoss parse_prediction_loss(const std::string& name);  // "categorical-kl", "bernoulli-kl", "squared-error"
const char* prediction_loss_name(PredictionLoss loss);

// L_pred between teacher and student logits [batch, classes], averaged over the batch. With a
// temperature T != 1 the KL losses are multiplied by T^2 (Hinton et al.), so that their gradients keep
// their size as T changes; the squared error is not.
Tensor prediction_loss(const Tensor& teacher_logits, const Tensor& student_logits, PredictionLoss kind,
                       double temperature = 1.0);

// ---- the three losses fused (one kernel forward, one backward; engine/ops.h distillation_loss)

struct LossWeights {
  double label = 1.0;
  double prediction = 0.0;
  double representation = 0.0;
};

struct DistillationLosses {
  Tensor total;  // [] sum of the weighted terms, differentiable wrt the student's logits and encoding
  // Each term's value, unweighted (batch means, the prediction loss with its T^2); 0 when its weight is 0.
  double label = 0.0;
  double prediction = 0.0;
  double representation = 0.0;
};

// label_loss, prediction_loss and representation_loss above, weighted and summed, in one fused op: equal
// to the separate losses up to rounding. A term of weight 0 is not computed and its inputs may be
// undefined. The teacher's tensors must not require gradients (pass them detached).
DistillationLosses distillation_losses(const Tensor& student_logits, const Tensor& student_encoding,
                                       const Tensor& teacher_logits, const Tensor& teacher_encoding,
                                       const Tensor& labels, const LossWeights& weights,
                                       PredictionLoss kind = PredictionLoss::CategoricalKL, double temperature = 1.0);

}  // namespace ff::models
