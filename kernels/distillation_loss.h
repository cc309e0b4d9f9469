// The three losses of teacher-student distillation in one pass over a batch: the label loss (binary
// cross-entropy with logits, summed over classes), the prediction loss (student against teacher logits at a
// temperature) and the representation loss (squared L2 distance of encodings), each averaged over the
// batch and weighted into one total. A separate-op graph reads the logits about fifteen times and writes as
// many [batch, classes] temporaries; this reads each input once.
//
// Deterministic on both backends: every row's sums land in `row_stats`, then the rows are summed in a fixed
// order (no float atomics), so a run repeats bit for bit. The backward gives the gradients of the student's
// logits and encoding only: the teacher's outputs and the labels are constants of the loss.
#pragma once
#include <cmath>

#include "kernels/bce.h"
#include "kernels/common.h"

namespace ff {

enum class PredictionLossKind : int32_t {
  // The paper's code: p = sigmoid(z / T) normalised to sum 1 over the classes, then the categorical
  // KL(p_T || p_S) = sum_c p_T,c (log p_T,c - log p_S,c), times T^2.
  CategoricalKL,
  // Per class the KL of two Bernoulli distributions, p = sigmoid(z / T), summed over classes, times T^2.
  BernoulliKL,
  // sum_c (p_T - p_S)^2, p = sigmoid(z / T) (no T^2: Hinton's factor keeps KL gradients' size only).
  SquaredError,
};

// A term of weight 0 is neither computed nor differentiated, and its inputs may be null.
struct DistillationLossOptions {
  double label_weight = 1.0;
  double prediction_weight = 0.0;
  double representation_weight = 0.0;
  PredictionLossKind prediction = PredictionLossKind::CategoricalKL;
  double temperature = 1.0;
};

// Per row of `row_stats` [batch, kDistillationRowStats]: the row's label sum, prediction value (before the
// T^2 factor), representation sum, then the categorical KL's normalisers sum_c sigmoid(z_c / T) of the
// student and of the teacher (0 for the other prediction losses), which the backward reads back.
constexpr int kDistillationRowStats = 5;
// `terms` [kDistillationTerms]: the weighted total, then the label, prediction and representation terms
// (unweighted batch means; 0 for a term of weight 0).
constexpr int kDistillationTerms = 4;

// The per-element pieces, shared by the CPU reference and the CUDA kernels.
template <class T>
FF_HD T distillation_log_sigmoid(T z) {
  return (z < T(0) ? z : T(0)) - std::log1p(std::exp(-std::fabs(z)));
}

// The prediction loss of one class for the Bernoulli KL (zt, zs already divided by T).
template <class T>
FF_HD T bernoulli_kl_value(T zt, T zs) {
  T pt = bce_sigmoid(zt);
  // log(1 - sigmoid(z)) = log_sigmoid(-z)
  return pt * (distillation_log_sigmoid(zt) - distillation_log_sigmoid(zs)) +
         (T(1) - pt) * (distillation_log_sigmoid(-zt) - distillation_log_sigmoid(-zs));
}

// The categorical KL of one row from three sums over its classes: with s_c = sigmoid(z_c / T),
// A = sum_c s_T,c (log s_T,c - log s_S,c), S = sum_c s_c: KL = A / S_T - log S_T + log S_S.
template <class T>
FF_HD T categorical_kl_from_sums(T weighted_log_ratio, T student_norm, T teacher_norm) {
  return weighted_log_ratio / teacher_norm - std::log(teacher_norm) + std::log(student_norm);
}

// d(prediction value of the row)/d(student logit), before the 1/batch and weight factors, for one class.
// Includes the T^2 of the KL losses and the 1/T of z / T.
template <class T>
FF_HD T prediction_gradient(PredictionLossKind kind, T temperature, T zt, T zs, T student_norm, T teacher_norm) {
  T ss = bce_sigmoid(zs), st = bce_sigmoid(zt);
  switch (kind) {
    case PredictionLossKind::CategoricalKL: return temperature * (T(1) - ss) * (ss / student_norm - st / teacher_norm);
    case PredictionLossKind::BernoulliKL: return temperature * (ss - st);
    case PredictionLossKind::SquaredError: return T(2) * (ss - st) * ss * (T(1) - ss) / temperature;
  }
  return T(0);
}

}  // namespace ff

#define FF_DISTILLATION_LOSS_KERNELS                                                                             \
  /* Inputs: logits [batch, classes] of student and teacher, labels [batch, classes], encodings [batch,       \
     encoding] of student and teacher. Writes row_stats [batch, kDistillationRowStats] and terms             \
     [kDistillationTerms] (device memory on CUDA). batch > 0. */                                             \
  template <class T>                                                                                         \
  void distillation_loss_forward(const ::ff::DistillationLossOptions& options, int64_t batch, int64_t classes, \
                                 int64_t encoding, const T* student_logits, const T* teacher_logits,          \
                                 const T* labels, const T* student_encoding, const T* teacher_encoding,       \
                                 T* row_stats, T* terms);                                                     \
  /* dtotal: the gradient of the total (one element, device memory on CUDA). Either output may be null;     \
     each one written is written whole (zeros where no term reaches it). */                                  \
  template <class T>                                                                                         \
  void distillation_loss_backward(const ::ff::DistillationLossOptions& options, int64_t batch, int64_t classes, \
                                  int64_t encoding, const T* student_logits, const T* teacher_logits,         \
                                  const T* labels, const T* student_encoding, const T* teacher_encoding,      \
                                  const T* row_stats, const T* dtotal, T* dstudent_logits,                    \
                                  T* dstudent_encoding);

namespace ff::cpu {
FF_DISTILLATION_LOSS_KERNELS
}
namespace ff::cuda {
FF_DISTILLATION_LOSS_KERNELS
}

// Both backends instantiate exactly this list.
#define FF_INSTANTIATE_DISTILLATION_LOSS(T)                                                                    \
  template void distillation_loss_forward<T>(const ::ff::DistillationLossOptions&, int64_t, int64_t, int64_t, \
                                             const T*, const T*, const T*, const T*, const T*, T*, T*);       \
  template void distillation_loss_backward<T>(const ::ff::DistillationLossOptions&, int64_t, int64_t, int64_t, \
                                              const T*, const T*, const T*, const T*, const T*, const T*,     \
                                              const T*, T*, T*);
