#include "models/distillation_losses.h"

#include <stdexcept>
#include <vector>

#include "engine/ops.h"

namespace ff::models {
namespace {

void check_pair(const Tensor& a, const Tensor& b, const char* what) {
  if (!a.defined() || !b.defined() || a.dim() != 2 || a.shape() != b.shape())
    throw std::invalid_argument(std::string(what) + ": expected two [batch, n] tensors of one shape, got " + a.str() +
                                " and " + b.str());
}

Tensor batch_mean(const Tensor& per_example_sum_source) {
  // sum over everything / batch = mean over the batch of the per-example sums
  return scale(sum_all(per_example_sum_source), 1.0 / double(per_example_sum_source.size(0)));
}

// log of sigmoid(z) normalised over the classes: log_sigmoid(z) - log(sum_c sigmoid(z)).
Tensor log_normalized_sigmoid(const Tensor& z) {
  return sub(log_sigmoid(z), log(sum(sigmoid(z), {1}, true)));
}

}  // namespace

Tensor label_loss(const Tensor& logits, const Tensor& labels) {
  check_pair(logits, labels, "label_loss");
  return batch_mean(bce_with_logits(logits, labels));
}

Tensor representation_loss(const Tensor& teacher_encoding, const Tensor& student_encoding) {
  check_pair(teacher_encoding, student_encoding, "representation_loss");
  return batch_mean(square(sub(teacher_encoding, student_encoding)));
}

PredictionLoss parse_prediction_loss(const std::string& name) {
  if (name == "categorical-kl") return PredictionLoss::CategoricalKL;
  if (name == "bernoulli-kl") return PredictionLoss::BernoulliKL;
  if (name == "squared-error") return PredictionLoss::SquaredError;
  throw std::invalid_argument("unknown prediction loss \"" + name +
                              "\" (expected categorical-kl, bernoulli-kl or squared-error)");
}

const char* prediction_loss_name(PredictionLoss loss) {
  switch (loss) {
    case PredictionLoss::CategoricalKL: return "categorical-kl";
    case PredictionLoss::BernoulliKL: return "bernoulli-kl";
    case PredictionLoss::SquaredError: return "squared-error";
  }
  return "?";
}

Tensor prediction_loss(const Tensor& teacher_logits, const Tensor& student_logits, PredictionLoss kind,
                       double temperature) {
  check_pair(teacher_logits, student_logits, "prediction_loss");
  if (!(temperature > 0)) throw std::invalid_argument("prediction_loss: temperature must be positive");
  Tensor zt = temperature == 1.0 ? teacher_logits : scale(teacher_logits, 1.0 / temperature);
  Tensor zs = temperature == 1.0 ? student_logits : scale(student_logits, 1.0 / temperature);
  const double kl_scale = temperature * temperature;
  switch (kind) {
    case PredictionLoss::CategoricalKL: {
      Tensor log_pt = log_normalized_sigmoid(zt), log_ps = log_normalized_sigmoid(zs);
      return scale(batch_mean(mul(exp(log_pt), sub(log_pt, log_ps))), kl_scale);
    }
    case PredictionLoss::BernoulliKL: {
      // log p = log_sigmoid(z), log(1 - p) = log_sigmoid(-z)
      Tensor log_pt = log_sigmoid(zt), log_qt = log_sigmoid(scale(zt, -1.0));
      Tensor log_ps = log_sigmoid(zs), log_qs = log_sigmoid(scale(zs, -1.0));
      Tensor kl = add(mul(exp(log_pt), sub(log_pt, log_ps)), mul(exp(log_qt), sub(log_qt, log_qs)));
      return scale(batch_mean(kl), kl_scale);
    }
    case PredictionLoss::SquaredError:
      return batch_mean(square(sub(sigmoid(zt), sigmoid(zs))));
  }
  throw std::logic_error("prediction_loss: unknown kind");
}

DistillationLosses distillation_losses(const Tensor& student_logits, const Tensor& student_encoding,
                                       const Tensor& teacher_logits, const Tensor& teacher_encoding,
                                       const Tensor& labels, const LossWeights& weights, PredictionLoss kind,
                                       double temperature) {
  DistillationLossOptions options;
  options.label_weight = weights.label;
  options.prediction_weight = weights.prediction;
  options.representation_weight = weights.representation;
  options.prediction = kind;
  options.temperature = temperature;
  DistillationLossValues values =
      distillation_loss(student_logits, student_encoding, teacher_logits, teacher_encoding, labels, options);
  std::vector<double> terms = values.terms.to_vector<double>();  // one device-to-host copy for all three
  return {values.total, terms[0], terms[1], terms[2]};
}

}  // namespace ff::models
