// The three losses of teacher-student training (the paper's eqs. 1, 2 and 4), built from engine ops so
// autograd gives their gradients. Each returns a scalar averaged over the batch. Teacher tensors are
// passed detached by the caller when the teacher is frozen (serial mode); in parallel mode the caller
// decides which losses reach the teacher.
#pragma once
#include <string>

#include "engine/tensor.h"

namespace ff::models {

// L_CE: binary cross-entropy of sigmoid(logits) against 0/1 labels [batch, classes], summed over classes,
// averaged over the batch (the starter code's CrossEntropyLoss, without its epsilon: the logits form is exact).
Tensor label_loss(const Tensor& logits, const Tensor& labels);

// L_rep: the squared L2 distance ||E_T - E_S||^2 between encodings [batch, dim], averaged over the batch.
Tensor representation_loss(const Tensor& teacher_encoding, const Tensor& student_encoding);

enum class PredictionLoss {
  // The paper's code: p = sigmoid(z / T) normalised to sum 1 over the classes, then the categorical
  // KL(p_T || p_S) = sum_c p_T,c (log p_T,c - log p_S,c).
  CategoricalKL,
  // Per class, the KL of two Bernoulli distributions, summed over classes:
  // sum_c p_T log(p_T / p_S) + (1 - p_T) log((1 - p_T) / (1 - p_S)), p = sigmoid(z / T).
  BernoulliKL,
  // sum_c (p_T - p_S)^2, p = sigmoid(z / T).
  SquaredError,
};
PredictionLoss parse_prediction_loss(const std::string& name);  // "categorical-kl", "bernoulli-kl", "squared-error"
const char* prediction_loss_name(PredictionLoss loss);

// L_pred between teacher and student logits [batch, classes], averaged over the batch. With a
// temperature T != 1 the KL losses are multiplied by T^2 (Hinton et al.), so that their gradients keep
// their size as T changes; the squared error is not.
Tensor prediction_loss(const Tensor& teacher_logits, const Tensor& student_logits, PredictionLoss kind,
                       double temperature = 1.0);

}  // namespace ff::models
