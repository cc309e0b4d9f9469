#include "kernels/distillation_loss.h"
#include "kernels/instantiate.h"

namespace ff::cpu {
namespace {

// Row sums are accumulated in double: the reference must be the more accurate side of a comparison.
struct RowSums {
  double label = 0, prediction = 0, representation = 0, student_norm = 0, teacher_norm = 0;
};

template <class T>
RowSums row_sums(const DistillationLossOptions& o, int64_t classes, int64_t encoding, const T* zs_row,
                 const T* zt_row, const T* labels_row, const T* es_row, const T* et_row) {
  RowSums sums;
  const T inverse_temperature = T(1.0 / o.temperature);
  if (o.label_weight != 0)
    for (int64_t c = 0; c < classes; ++c) sums.label += double(bce_with_logits_value(zs_row[c], labels_row[c]));
  if (o.prediction_weight != 0) {
    for (int64_t c = 0; c < classes; ++c) {
      T zt = zt_row[c] * inverse_temperature, zs = zs_row[c] * inverse_temperature;
      switch (o.prediction) {
        case PredictionLossKind::CategoricalKL:
          sums.teacher_norm += double(bce_sigmoid(zt));
          sums.student_norm += double(bce_sigmoid(zs));
          sums.prediction += double(bce_sigmoid(zt) * (distillation_log_sigmoid(zt) - distillation_log_sigmoid(zs)));
          break;
        case PredictionLossKind::BernoulliKL: sums.prediction += double(bernoulli_kl_value(zt, zs)); break;
        case PredictionLossKind::SquaredError: {
          T d = bce_sigmoid(zt) - bce_sigmoid(zs);
          sums.prediction += double(d * d);
          break;
        }
      }
    }
    if (o.prediction == PredictionLossKind::CategoricalKL)
      sums.prediction = categorical_kl_from_sums(sums.prediction, sums.student_norm, sums.teacher_norm);
  }
  if (o.representation_weight != 0)
    for (int64_t d = 0; d < encoding; ++d) {
      double difference = double(et_row[d]) - double(es_row[d]);
      sums.representation += difference * difference;
    }
  return sums;
}

double prediction_scale(const DistillationLossOptions& o) {
  return o.prediction == PredictionLossKind::SquaredError ? 1.0 : o.temperature * o.temperature;
}

}  // namespace

template <class T>
void distillation_loss_forward(const DistillationLossOptions& o, int64_t batch, int64_t classes, int64_t encoding,
                               const T* student_logits, const T* teacher_logits, const T* labels,
                               const T* student_encoding, const T* teacher_encoding, T* row_stats, T* terms) {
#pragma omp parallel for if (batch * (classes + encoding) > (1 << 16))
  for (int64_t b = 0; b < batch; ++b) {
    auto row = [b](const T* p, int64_t n) { return p ? p + b * n : nullptr; };
    RowSums s = row_sums(o, classes, encoding, row(student_logits, classes), row(teacher_logits, classes),
                         row(labels, classes), row(student_encoding, encoding), row(teacher_encoding, encoding));
    T* out = row_stats + b * kDistillationRowStats;
    out[0] = T(s.label);
    out[1] = T(s.prediction);
    out[2] = T(s.representation);
    out[3] = T(s.student_norm);
    out[4] = T(s.teacher_norm);
  }
  double label = 0, prediction = 0, representation = 0;  // rows in order: the fixed order of the sum
  for (int64_t b = 0; b < batch; ++b) {
    label += double(row_stats[b * kDistillationRowStats + 0]);
    prediction += double(row_stats[b * kDistillationRowStats + 1]);
    representation += double(row_stats[b * kDistillationRowStats + 2]);
  }
  label /= double(batch);
  prediction *= prediction_scale(o) / double(batch);
  representation /= double(batch);
  terms[0] = T(o.label_weight * label + o.prediction_weight * prediction + o.representation_weight * representation);
  terms[1] = T(label);
  terms[2] = T(prediction);
  terms[3] = T(representation);
}

template <class T>
void distillation_loss_backward(const DistillationLossOptions& o, int64_t batch, int64_t classes, int64_t encoding,
                                const T* student_logits, const T* teacher_logits, const T* labels,
                                const T* student_encoding, const T* teacher_encoding, const T* row_stats,
                                const T* dtotal, T* dstudent_logits, T* dstudent_encoding) {
  const T label_factor = T(dtotal[0] * o.label_weight / double(batch));
  const T prediction_factor = T(dtotal[0] * o.prediction_weight / double(batch));
  const T representation_factor = T(dtotal[0] * o.representation_weight / double(batch));
  const T temperature = T(o.temperature), inverse_temperature = T(1.0 / o.temperature);
  if (dstudent_logits) {
#pragma omp parallel for if (batch * classes > (1 << 16))
    for (int64_t i = 0; i < batch * classes; ++i) {
      T g = T(0);
      if (o.label_weight != 0) g += label_factor * (bce_sigmoid(student_logits[i]) - labels[i]);
      if (o.prediction_weight != 0) {
        const T* stats = row_stats + (i / classes) * kDistillationRowStats;
        g += prediction_factor * prediction_gradient(o.prediction, temperature, teacher_logits[i] * inverse_temperature,
                                                     student_logits[i] * inverse_temperature, stats[3], stats[4]);
      }
      dstudent_logits[i] = g;
    }
  }
  if (dstudent_encoding) {
#pragma omp parallel for if (batch * encoding > (1 << 16))
    for (int64_t i = 0; i < batch * encoding; ++i)
      dstudent_encoding[i] = o.representation_weight != 0
                                 ? T(2) * representation_factor * (student_encoding[i] - teacher_encoding[i])
                                 : T(0);
  }
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_DISTILLATION_LOSS)

}  // namespace ff::cpu
