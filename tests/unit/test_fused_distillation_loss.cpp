// The fused distillation loss against the separate loss ops it replaces (models/distillation_losses.h):
// the same total, terms and gradients, in float64 to rounding and in float32 to 1e-5; and its argument checks.
#include <catch2/catch.hpp>
#include <cmath>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "models/distillation_losses.h"

namespace ff::models {
namespace {

using Catch::Matchers::Contains;

struct LossInputs {
  Tensor student_logits, student_encoding, teacher_logits, teacher_encoding, labels;
};

LossInputs loss_inputs(int64_t batch, int64_t classes, int64_t encoding, DType dtype, uint64_t seed) {
  Generator generator(seed);
  LossInputs in;
  in.student_logits = Tensor::normal({batch, classes}, -1.0, 2.0, generator, dtype).set_requires_grad(true);
  in.student_encoding = Tensor::normal({batch, encoding}, 0.0, 1.0, generator, dtype).set_requires_grad(true);
  in.teacher_logits = Tensor::normal({batch, classes}, -1.0, 2.5, generator, dtype);
  in.teacher_encoding = Tensor::normal({batch, encoding}, 0.0, 1.0, generator, dtype);
  std::vector<double> labels = Tensor::uniform({batch, classes}, 0, 1, generator, DType::Float64).to_vector<double>();
  for (double& y : labels) y = y < 0.05 ? 1.0 : 0.0;  // about 3 labels in 60 classes, as YouTube-8M
  in.labels = Tensor::from_vector(labels, {batch, classes}).to(dtype);
  return in;
}

struct Evaluation {
  double total = 0, label = 0, prediction = 0, representation = 0;
  Tensor dlogits, dencoding;
};

Evaluation evaluate_separate(LossInputs& in, const LossWeights& w, PredictionLoss kind, double t) {
  in.student_logits.zero_grad();
  in.student_encoding.zero_grad();
  Tensor label = label_loss(in.student_logits, in.labels);
  Tensor prediction = prediction_loss(in.teacher_logits, in.student_logits, kind, t);
  Tensor representation = representation_loss(in.teacher_encoding, in.student_encoding);
  Tensor total = add(add(scale(label, w.label), scale(prediction, w.prediction)), scale(representation, w.representation));
  total.backward();
  return {total.item(), label.item(), prediction.item(), representation.item(), in.student_logits.grad(),
          in.student_encoding.grad()};
}

Evaluation evaluate_fused(LossInputs& in, const LossWeights& w, PredictionLoss kind, double t) {
  in.student_logits.zero_grad();
  in.student_encoding.zero_grad();
  DistillationLosses losses = distillation_losses(in.student_logits, in.student_encoding, in.teacher_logits,
                                                  in.teacher_encoding, in.labels, w, kind, t);
  losses.total.backward();
  return {losses.total.item(), losses.label, losses.prediction, losses.representation, in.student_logits.grad(),
          in.student_encoding.grad()};
}

double relative_difference(const Tensor& a, const Tensor& b) {
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  double diff = 0, norm = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    diff += (va[i] - vb[i]) * (va[i] - vb[i]);
    norm += vb[i] * vb[i];
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-300);
}

}  // namespace

TEST_CASE("the fused distillation loss equals the separate losses, values and gradients", "[losses][fused]") {
  const LossWeights weights{0.6, 1.7, 0.3};
  for (DType dtype : {DType::Float64, DType::Float32}) {
    const double tolerance = dtype == DType::Float64 ? 1e-12 : 1e-5;
    LossInputs in = loss_inputs(5, 61, 33, dtype, 11);
    for (PredictionLoss kind :
         {PredictionLoss::CategoricalKL, PredictionLoss::BernoulliKL, PredictionLoss::SquaredError})
      for (double t : {1.0, 3.0}) {
        INFO(dtype_name(dtype) << " " << prediction_loss_name(kind) << " T=" << t);
        Evaluation separate = evaluate_separate(in, weights, kind, t);
        Evaluation fused = evaluate_fused(in, weights, kind, t);
        CHECK(fused.total == Approx(separate.total).epsilon(tolerance));
        CHECK(fused.label == Approx(separate.label).epsilon(tolerance));
        CHECK(fused.prediction == Approx(separate.prediction).epsilon(tolerance));
        CHECK(fused.representation == Approx(separate.representation).epsilon(tolerance));
        CHECK(relative_difference(fused.dlogits, separate.dlogits) < tolerance);
        CHECK(relative_difference(fused.dencoding, separate.dencoding) < tolerance);
      }
  }
}

TEST_CASE("the fused loss skips terms of weight 0 and needs only the inputs of the others", "[losses][fused]") {
  LossInputs in = loss_inputs(3, 17, 9, DType::Float64, 5);
  DistillationLosses label_only =
      distillation_losses(in.student_logits, Tensor(), Tensor(), Tensor(), in.labels, LossWeights{1, 0, 0});
  CHECK(label_only.total.item() == Approx(label_loss(in.student_logits, in.labels).item()).epsilon(1e-12));
  CHECK(label_only.prediction == 0.0);
  CHECK(label_only.representation == 0.0);

  DistillationLosses representation_only = distillation_losses(Tensor(), in.student_encoding, Tensor(),
                                                                in.teacher_encoding, Tensor(), LossWeights{0, 0, 2});
  double expected = representation_loss(in.teacher_encoding, in.student_encoding).item();
  CHECK(representation_only.total.item() == Approx(2 * expected).epsilon(1e-12));
  CHECK(representation_only.representation == Approx(expected).epsilon(1e-12));
  in.student_encoding.zero_grad();
  representation_only.total.backward();
  CHECK(in.student_encoding.grad().defined());
}

TEST_CASE("the fused loss repeats bit for bit", "[losses][fused]") {
  LossInputs in = loss_inputs(7, 45, 21, DType::Float32, 3);
  auto run = [&] {
    return evaluate_fused(in, LossWeights{1, 1, 1}, PredictionLoss::CategoricalKL, 2.0);
  };
  Evaluation a = run(), b = run();
  CHECK(a.total == b.total);
  CHECK(a.dlogits.to_vector<float>() == b.dlogits.to_vector<float>());
}

TEST_CASE("the fused loss refuses teacher outputs that require gradients and bad arguments", "[losses][fused]") {
  LossInputs in = loss_inputs(2, 5, 3, DType::Float64, 1);
  const LossWeights all{1, 1, 1};
  Tensor teacher_logits = in.teacher_logits.clone().set_requires_grad(true);
  CHECK_THROWS_WITH(distillation_losses(in.student_logits, in.student_encoding, teacher_logits, in.teacher_encoding,
                                        in.labels, all),
                    Contains("teacher_logits") && Contains("detached"));
  Tensor teacher_encoding = in.teacher_encoding.clone().set_requires_grad(true);
  CHECK_THROWS_WITH(distillation_losses(in.student_logits, in.student_encoding, in.teacher_logits, teacher_encoding,
                                        in.labels, all),
                    Contains("teacher_encoding"));
  // Detached, the same tensor is accepted.
  CHECK_NOTHROW(distillation_losses(in.student_logits, in.student_encoding, teacher_logits.detach(),
                                    teacher_encoding.detach(), in.labels, all));
  CHECK_THROWS_WITH(distillation_losses(in.student_logits, in.student_encoding, Tensor(), in.teacher_encoding,
                                        in.labels, all),
                    Contains("teacher_logits"));
  CHECK_THROWS_WITH(distillation_losses(in.student_logits, in.student_encoding, in.teacher_logits.narrow_rows(0, 1),
                                        in.teacher_encoding, in.labels, all),
                    Contains("teacher_logits"));
  CHECK_THROWS_WITH(distillation_losses(in.student_logits, in.student_encoding, in.teacher_logits, in.teacher_encoding,
                                        in.labels, LossWeights{0, 0, 0}),
                    Contains("every weight is 0"));
  CHECK_THROWS_WITH(distillation_losses(in.student_logits, in.student_encoding, in.teacher_logits, in.teacher_encoding,
                                        in.labels, all, PredictionLoss::BernoulliKL, 0.0),
                    Contains("temperature"));
  CHECK_THROWS_WITH(distillation_losses(in.student_logits, in.student_encoding, in.teacher_logits, in.teacher_encoding,
                                        in.labels.to(DType::Float32), all),
                    Contains("labels"));
}

}  // namespace ff::models
