// The distillation losses: values against direct formulas in double, and gradients by finite differences.
#include <catch2/catch.hpp>
#include <cmath>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "models/distillation_losses.h"

namespace ff::models {
namespace {

using Catch::Matchers::Contains;

double sigmoid_of(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// The losses in plain double arithmetic, straight from their definitions.
double reference_prediction_loss(const std::vector<double>& zt, const std::vector<double>& zs, int64_t batch,
                                 int64_t classes, PredictionLoss kind, double t) {
  double total = 0;
  for (int64_t b = 0; b < batch; ++b) {
    double sum_t = 0, sum_s = 0;
    for (int64_t c = 0; c < classes; ++c) {
      sum_t += sigmoid_of(zt[size_t(b * classes + c)] / t);
      sum_s += sigmoid_of(zs[size_t(b * classes + c)] / t);
    }
    for (int64_t c = 0; c < classes; ++c) {
      double pt = sigmoid_of(zt[size_t(b * classes + c)] / t), ps = sigmoid_of(zs[size_t(b * classes + c)] / t);
      if (kind == PredictionLoss::CategoricalKL)
        total += t * t * (pt / sum_t) * std::log((pt / sum_t) / (ps / sum_s));
      else if (kind == PredictionLoss::BernoulliKL)
        total += t * t * (pt * std::log(pt / ps) + (1 - pt) * std::log((1 - pt) / (1 - ps)));
      else
        total += (pt - ps) * (pt - ps);
    }
  }
  return total / double(batch);
}

Tensor random_tensor(const Shape& shape, uint64_t seed, double scale_by = 2.0) {
  Generator generator(seed);
  return Tensor::normal(shape, 0, scale_by, generator, DType::Float64);
}

// Central differences of a scalar function of `x`, against x.grad().
double max_gradient_error(Tensor x, const std::function<Tensor()>& loss) {
  x.zero_grad();
  loss().backward();
  std::vector<double> analytic = x.grad().to_vector<double>();
  NoGradGuard no_grad;
  double* values = x.data<double>();
  double worst = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    double saved = values[i];
    values[i] = saved + 1e-6;
    double plus = loss().item();
    values[i] = saved - 1e-6;
    double minus = loss().item();
    values[i] = saved;
    double numeric = (plus - minus) / 2e-6;
    worst = std::max(worst, std::fabs(numeric - analytic[size_t(i)]) / std::max(1.0, std::fabs(numeric)));
  }
  return worst;
}

}  // namespace

TEST_CASE("prediction losses match their definitions and vanish for equal logits", "[losses]") {
  Tensor zt = random_tensor({3, 7}, 1), zs = random_tensor({3, 7}, 2);
  for (PredictionLoss kind : {PredictionLoss::CategoricalKL, PredictionLoss::BernoulliKL, PredictionLoss::SquaredError})
    for (double t : {1.0, 3.0}) {
      INFO(prediction_loss_name(kind) << " T=" << t);
      double expected = reference_prediction_loss(zt.to_vector<double>(), zs.to_vector<double>(), 3, 7, kind, t);
      CHECK(prediction_loss(zt, zs, kind, t).item() == Approx(expected).epsilon(1e-12));
      CHECK(prediction_loss(zt, zt, kind, t).item() == Approx(0.0).margin(1e-12));
      CHECK(expected > 0);
    }
  CHECK(parse_prediction_loss("bernoulli-kl") == PredictionLoss::BernoulliKL);
  CHECK_THROWS_WITH(parse_prediction_loss("kl"), Contains("categorical-kl"));
}

TEST_CASE("label and representation losses average per-example sums over the batch", "[losses]") {
  Tensor logits = Tensor::from_vector<double>({0.0, 2.0, -1.0, 0.5}, {2, 2});
  Tensor labels = Tensor::from_vector<double>({1.0, 0.0, 0.0, 1.0}, {2, 2});
  double expected = (-std::log(sigmoid_of(0.0)) - std::log(1 - sigmoid_of(2.0)) - std::log(1 - sigmoid_of(-1.0)) -
                     std::log(sigmoid_of(0.5))) / 2;
  CHECK(label_loss(logits, labels).item() == Approx(expected).epsilon(1e-12));
  Tensor a = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3}), b = Tensor::from_vector<double>({1, 0, 3, 0, 5, 9}, {2, 3});
  CHECK(representation_loss(a, b).item() == Approx((4.0 + 16.0 + 9.0) / 2));
  CHECK_THROWS_WITH(representation_loss(a, Tensor::zeros({3, 2}, DType::Float64)), Contains("one shape"));
}

TEST_CASE("distillation losses have exact gradients (float64 finite differences)", "[losses][gradient]") {
  Tensor teacher = random_tensor({2, 5}, 3), student = random_tensor({2, 5}, 4);
  teacher.set_requires_grad(true);
  student.set_requires_grad(true);
  for (PredictionLoss kind : {PredictionLoss::CategoricalKL, PredictionLoss::BernoulliKL, PredictionLoss::SquaredError})
    for (double t : {1.0, 2.5}) {
      INFO(prediction_loss_name(kind) << " T=" << t);
      auto loss = [&] { return prediction_loss(teacher, student, kind, t); };
      CHECK(max_gradient_error(student, loss) < 1e-6);
      CHECK(max_gradient_error(teacher, loss) < 1e-6);
    }
  Tensor labels = Tensor::from_vector<double>({1, 0, 0, 1, 1, 0, 1, 0, 0, 0}, {2, 5});
  CHECK(max_gradient_error(student, [&] { return label_loss(student, labels); }) < 1e-6);
  CHECK(max_gradient_error(student, [&] { return representation_loss(teacher, student); }) < 1e-6);
}

}  // namespace ff::models
