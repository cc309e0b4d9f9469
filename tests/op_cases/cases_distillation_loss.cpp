// The fused distillation loss: every prediction loss, temperatures 1 and above, each term alone and all
// together. The teacher's outputs and the labels are constants of the op, so only the student's logits and
// encoding are checked against finite differences.
#include "engine/ops.h"
#include "op_cases/op_case.h"

namespace ff::test {
namespace {
using K = InputKind;

// Inputs: student logits, student encoding, teacher logits, teacher encoding, labels.
std::vector<InputSpec> distillation_inputs(int64_t batch, int64_t classes, int64_t encoding) {
  return {{{batch, classes}},           {{batch, encoding}},           {{batch, classes}, K::Constant},
          {{batch, encoding}, K::Constant}, {{batch, classes}, K::Mask}};
}

OpCase distillation_case(const std::string& name, int64_t batch, int64_t classes, int64_t encoding,
                         DistillationLossOptions options) {
  return {name, distillation_inputs(batch, classes, encoding), [options](const std::vector<Tensor>& in) {
            return distillation_loss(in[0], in[1], in[2], in[3], in[4], options).total;
          }};
}

DistillationLossOptions weighted(double label, double prediction, double representation, PredictionLossKind kind,
                                 double temperature) {
  DistillationLossOptions o;
  o.label_weight = label;
  o.prediction_weight = prediction;
  o.representation_weight = representation;
  o.prediction = kind;
  o.temperature = temperature;
  return o;
}

constexpr auto kCategorical = PredictionLossKind::CategoricalKL;
constexpr auto kBernoulli = PredictionLossKind::BernoulliKL;
constexpr auto kSquared = PredictionLossKind::SquaredError;

const RegisterOpCase cases[] = {
    RegisterOpCase(distillation_case("distillation_loss_label_only", 3, 7, 5, weighted(1, 0, 0, kCategorical, 1))),
    RegisterOpCase(
        distillation_case("distillation_loss_representation_only", 3, 7, 5, weighted(0, 0, 1, kCategorical, 1))),
    RegisterOpCase(
        distillation_case("distillation_loss_categorical_kl", 3, 7, 5, weighted(0, 1, 0, kCategorical, 1))),
    RegisterOpCase(
        distillation_case("distillation_loss_categorical_kl_temperature", 2, 9, 4, weighted(0, 1, 0, kCategorical, 3))),
    RegisterOpCase(distillation_case("distillation_loss_bernoulli_kl", 3, 7, 5, weighted(0, 1, 0, kBernoulli, 1))),
    RegisterOpCase(
        distillation_case("distillation_loss_bernoulli_kl_temperature", 2, 9, 4, weighted(0, 1, 0, kBernoulli, 2.5))),
    RegisterOpCase(distillation_case("distillation_loss_squared_error", 3, 7, 5, weighted(0, 1, 0, kSquared, 1))),
    RegisterOpCase(
        distillation_case("distillation_loss_squared_error_temperature", 2, 9, 4, weighted(0, 1, 0, kSquared, 2))),
    RegisterOpCase(distillation_case("distillation_loss_all_terms", 4, 11, 6, weighted(0.7, 1.3, 0.4, kCategorical, 2))),
    // More classes than a CUDA block has threads, so each thread sums several classes of its row.
    RegisterOpCase(distillation_case("distillation_loss_wide", 2, 301, 263, weighted(1, 0.5, 0.25, kBernoulli, 1))),
};

}  // namespace
}  // namespace ff::test
