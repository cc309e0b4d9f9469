// Exact values of log_softmax on the CPU where log(softmax(x)) breaks down, against a direct
// double-precision computation (the gradients are checked by finite differences in the op catalogue,
// tests/op_cases/cases_shape.cpp, which the GPU suite also runs on CUDA).
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"

namespace ff {
namespace {

// log_softmax of each row of n values, in double.
std::vector<double> reference_log_softmax(const std::vector<double>& x, size_t n) {
  std::vector<double> y(x.size());
  for (size_t r = 0; r < x.size() / n; ++r) {
    double max_value = x[r * n];
    for (size_t j = 1; j < n; ++j) max_value = std::max(max_value, x[r * n + j]);
    double total = 0;
    for (size_t j = 0; j < n; ++j) total += std::exp(x[r * n + j] - max_value);
    for (size_t j = 0; j < n; ++j) y[r * n + j] = x[r * n + j] - max_value - std::log(total);
  }
  return y;
}

// Two rows of six logits about 400 apart: float32's exp underflows to 0 below about -104, so softmax has
// exact zeros in both rows. Row 0's largest logit dominates (its log-probability is 0 to float64
// precision); row 1's two largest are 10 apart, so log(1 + exp(-10)) shows in the result. The values are
// exact in float32.
const std::vector<double> kLargeLogits = {200, -200, 0, 150, -199.5, 3, -180, 190, 200, 17.25, -3, -200};

}  // namespace

TEST_CASE("log_softmax is finite and exact for logits far apart, where log(softmax(x)) is -inf", "[log_softmax]") {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    // float64's exp underflows only below about -745, so its logits are spread wider to break softmax.
    double spread = dtype == DType::Float32 ? 1.0 : 2.5;
    std::vector<double> logits = kLargeLogits;
    for (double& v : logits) v *= spread;
    double tolerance = dtype == DType::Float32 ? 1e-6 : 1e-14;
    INFO(dtype_name(dtype));

    Tensor x = Tensor::from_vector(logits, {2, 6}).to(dtype);
    x.set_requires_grad(true);
    Tensor y = log_softmax(x);
    std::vector<double> expected = reference_log_softmax(logits, 6);
    std::vector<double> values = y.to_vector<double>();
    REQUIRE(values.size() == expected.size());
    for (size_t i = 0; i < values.size(); ++i) {
      INFO("element " << i);
      CHECK(std::isfinite(values[i]));
      CHECK(values[i] == Approx(expected[i]).epsilon(tolerance).margin(tolerance));
    }
    CHECK(values[0] == 0);
    // Absolute: log(1 + e) of a tiny e carries the rounding of 1 + e, as any max-shifted log-sum-exp does.
    CHECK(values[8] == Approx(-std::log1p(std::exp(-10.0 * spread))).margin(tolerance));

    // The case is one log(softmax(x)) gets wrong: it takes the log of underflowed probabilities.
    std::vector<double> composed = log(softmax(x.detach())).to_vector<double>();
    CHECK(std::isinf(composed[1]));
    CHECK(std::isinf(composed[11]));

    // The backward of sum(w * log_softmax(x)) is w - softmax(x) * sum(w) per row.
    std::vector<double> w = {0.5, -1, 2, 0.25, -0.75, 1.5, -2, 1, 0.5, -0.5, 3, -1.25};
    sum_all(mul(y, Tensor::from_vector(w, {2, 6}).to(dtype))).backward();
    std::vector<double> grad = x.grad().to_vector<double>();
    for (size_t r = 0; r < 2; ++r) {
      double w_sum = 0;
      for (size_t j = 0; j < 6; ++j) w_sum += w[r * 6 + j];
      for (size_t j = 0; j < 6; ++j) {
        size_t i = r * 6 + j;
        INFO("gradient element " << i);
        CHECK(std::isfinite(grad[i]));
        CHECK(grad[i] == Approx(w[i] - std::exp(expected[i]) * w_sum).epsilon(tolerance).margin(tolerance));
      }
    }
  }
}

TEST_CASE("log_softmax treats empty tensors and all -inf rows as softmax does", "[log_softmax]") {
  for (const Shape& shape : {Shape{0, 4}, Shape{3, 0}}) {
    Tensor y = log_softmax(Tensor::zeros(shape, DType::Float32));
    CHECK(y.shape() == shape);
    CHECK(y.numel() == 0);
  }
  // A row with no finite logit has no distribution: both give NaN there and leave the other rows alone.
  const double inf = std::numeric_limits<double>::infinity();
  Tensor x = Tensor::from_vector(std::vector<double>{-inf, -inf, -inf, 1, 2, 3}, {2, 3});
  std::vector<double> logs = log_softmax(x).to_vector<double>(), probabilities = softmax(x).to_vector<double>();
  std::vector<double> expected = reference_log_softmax({1, 2, 3}, 3);
  for (size_t j = 0; j < 3; ++j) {
    CHECK(std::isnan(logs[j]));
    CHECK(std::isnan(probabilities[j]));
    CHECK(logs[3 + j] == Approx(expected[j]).epsilon(1e-14));
  }
}

}  // namespace ff
