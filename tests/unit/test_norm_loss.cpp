// Exact values of batch norm, dropout and binary cross-entropy on the CPU (the gradients are checked by
// finite differences in the op catalogue, tests/op_cases/cases_norm_loss.cpp).
#include <catch2/catch.hpp>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"

namespace ff {
namespace {

Tensor vector_tensor(const std::vector<double>& values, const Shape& shape) {
  return Tensor::from_vector(values, shape);
}

Tensor channel_values(std::vector<double> values) {
  int64_t n = int64_t(values.size());
  return Tensor::from_vector(values, {n});
}

// Mean and biased variance of column c over the rows listed.
void column_moments(const std::vector<double>& y, int64_t channels, int64_t c, const std::vector<int64_t>& rows,
                    double& mean, double& variance) {
  mean = 0, variance = 0;
  for (int64_t r : rows) mean += y[size_t(r * channels + c)];
  mean /= double(rows.size());
  for (int64_t r : rows) variance += std::pow(y[size_t(r * channels + c)] - mean, 2);
  variance /= double(rows.size());
}

}  // namespace

TEST_CASE("batch_norm training normalises each channel to mean 0 and variance 1", "[batch_norm]") {
  Tensor x = vector_tensor({1, 10, 2, 20, 3, 30, 4, 40}, {4, 2});
  BatchNormOptions options;
  options.epsilon = 1e-12;
  Tensor y = batch_norm(x, Tensor(), Tensor(), Tensor::zeros({2}, DType::Float64), Tensor::full({2}, 1, DType::Float64),
                        true, Tensor(), options);
  std::vector<double> v = y.to_vector<double>();
  // Channel 0: mean 2.5, biased variance 1.25; channel 1 is channel 0 times 10 and normalises to the same.
  const double s = 1 / std::sqrt(1.25);
  std::vector<double> expected = {-1.5 * s, -1.5 * s, -0.5 * s, -0.5 * s, 0.5 * s, 0.5 * s, 1.5 * s, 1.5 * s};
  for (size_t i = 0; i < v.size(); ++i) CHECK(v[i] == Approx(expected[i]).margin(1e-12));
  for (int64_t c = 0; c < 2; ++c) {
    double mean, variance;
    column_moments(v, 2, c, {0, 1, 2, 3}, mean, variance);
    CHECK(mean == Approx(0).margin(1e-12));
    CHECK(variance == Approx(1).epsilon(1e-10));
  }
}

TEST_CASE("batch_norm applies gamma and beta after normalising", "[batch_norm]") {
  Tensor x = vector_tensor({1, 10, 2, 20, 3, 30, 4, 40}, {4, 2});
  BatchNormOptions options;
  options.epsilon = 1e-12;
  Tensor gamma = channel_values({2, -3}), beta = channel_values({0.5, 7});
  Tensor y = batch_norm(x, gamma, beta, Tensor::zeros({2}, DType::Float64), Tensor::full({2}, 1, DType::Float64), true,
                        Tensor(), options);
  std::vector<double> v = y.to_vector<double>();
  const double s = 1 / std::sqrt(1.25);
  CHECK(v[0] == Approx(-1.5 * s * 2 + 0.5));
  CHECK(v[1] == Approx(-1.5 * s * -3 + 7));
  CHECK(v[6] == Approx(1.5 * s * 2 + 0.5));
  CHECK(v[7] == Approx(1.5 * s * -3 + 7));
}

TEST_CASE("batch_norm takes its statistics from the rows whose mask is 1 only", "[batch_norm]") {
  Generator generator(5);
  Tensor x = Tensor::normal({6, 3}, 2.0, 3.0, generator, DType::Float64);
  Tensor mask = vector_tensor({1, 1, 0, 1, 0, 1}, {6});
  BatchNormOptions options;
  options.epsilon = 1e-12;
  auto run = [&](const Tensor& input) {
    return batch_norm(input, Tensor(), Tensor(), Tensor::zeros({3}, DType::Float64),
                      Tensor::full({3}, 1, DType::Float64), true, mask, options)
        .to_vector<double>();
  };
  std::vector<double> y = run(x);
  const std::vector<int64_t> counted = {0, 1, 3, 5};
  for (int64_t c = 0; c < 3; ++c) {
    double mean, variance;
    column_moments(y, 3, c, counted, mean, variance);
    CHECK(mean == Approx(0).margin(1e-12));
    CHECK(variance == Approx(1).epsilon(1e-10));
  }

  SECTION("masked rows are normalised with the counted rows' statistics") {
    std::vector<double> xv = x.to_vector<double>();
    for (int64_t c = 0; c < 3; ++c) {
      double mean, variance;
      column_moments(xv, 3, c, counted, mean, variance);
      for (int64_t r : {2, 4})
        CHECK(y[size_t(r * 3 + c)] == Approx((xv[size_t(r * 3 + c)] - mean) / std::sqrt(variance)).epsilon(1e-10));
    }
  }

  SECTION("changing a masked row changes no other row's output") {
    std::vector<double> xv = x.to_vector<double>();
    for (int64_t c = 0; c < 3; ++c) xv[size_t(2 * 3 + c)] = 1e6 * double(c + 1);
    xv[size_t(4 * 3)] = std::nan("");  // padding may hold anything
    std::vector<double> y2 = run(vector_tensor(xv, {6, 3}));
    for (int64_t r : counted)
      for (int64_t c = 0; c < 3; ++c) CHECK(y2[size_t(r * 3 + c)] == y[size_t(r * 3 + c)]);
  }
}

TEST_CASE("batch_norm training updates the running statistics once per call", "[batch_norm]") {
  Tensor x = vector_tensor({1, 10, 2, 20, 3, 30, 4, 40}, {4, 2});
  Tensor running_mean = channel_values({0.5, -1}), running_var = channel_values({2, 3});
  BatchNormOptions options;
  options.momentum = 0.9;
  Tensor y = batch_norm(x, Tensor(), Tensor(), running_mean, running_var, true, Tensor(), options);
  // Batch: means 2.5 and 25, biased variances 1.25 and 125.
  std::vector<double> m = running_mean.to_vector<double>(), v = running_var.to_vector<double>();
  CHECK(m[0] == Approx(0.9 * 0.5 + 0.1 * 2.5).epsilon(1e-14));
  CHECK(m[1] == Approx(0.9 * -1 + 0.1 * 25).epsilon(1e-14));
  CHECK(v[0] == Approx(0.9 * 2 + 0.1 * 1.25).epsilon(1e-14));
  CHECK(v[1] == Approx(0.9 * 3 + 0.1 * 125).epsilon(1e-14));

  SECTION("the training output does not read the running statistics") {
    Tensor other = batch_norm(x, Tensor(), Tensor(), channel_values({100, 100}), channel_values({50, 50}), true,
                              Tensor(), options);
    CHECK(other.to_vector<double>() == y.to_vector<double>());
  }
  SECTION("a masked step averages the counted rows only") {
    Tensor mean2 = channel_values({0, 0}), var2 = channel_values({0, 0});
    batch_norm(x, Tensor(), Tensor(), mean2, var2, true, vector_tensor({0, 1, 1, 0}, {4}), options);
    CHECK(mean2.to_vector<double>()[0] == Approx(0.1 * 2.5).epsilon(1e-14));
    CHECK(var2.to_vector<double>()[0] == Approx(0.1 * 0.25).epsilon(1e-14));
  }
}

TEST_CASE("batch_norm inference uses the running statistics and leaves them unchanged", "[batch_norm]") {
  Tensor x = vector_tensor({1, 10, 2, 20, 3, 30}, {3, 2});
  Tensor running_mean = channel_values({0.5, -1}), running_var = channel_values({2, 3});
  Tensor gamma = channel_values({1.5, 0.5}), beta = channel_values({-1, 2});
  BatchNormOptions options;
  options.epsilon = 1e-3;
  std::vector<double> y =
      batch_norm(x, gamma, beta, running_mean, running_var, false, Tensor(), options).to_vector<double>();
  std::vector<double> xv = x.to_vector<double>();
  const double mean[2] = {0.5, -1}, var[2] = {2, 3}, g[2] = {1.5, 0.5}, b[2] = {-1, 2};
  for (size_t i = 0; i < y.size(); ++i) {
    size_t c = i % 2;
    CHECK(y[i] == Approx((xv[i] - mean[c]) / std::sqrt(var[c] + 1e-3) * g[c] + b[c]).epsilon(1e-14));
  }
  CHECK(running_mean.to_vector<double>() == std::vector<double>{0.5, -1});
  CHECK(running_var.to_vector<double>() == std::vector<double>{2, 3});
}

TEST_CASE("batch_norm rejects operands that do not fit x", "[batch_norm]") {
  Tensor x = Tensor::zeros({4, 3}), stats = Tensor::zeros({3});
  CHECK_THROWS_AS(batch_norm(Tensor::zeros({4, 3, 2}), Tensor(), Tensor(), stats, stats, true),
                  std::invalid_argument);
  CHECK_THROWS_AS(batch_norm(x, Tensor::zeros({4}), Tensor(), stats, stats, true), std::invalid_argument);
  CHECK_THROWS_AS(batch_norm(x, Tensor(), Tensor(), Tensor::zeros({2}), stats, true), std::invalid_argument);
  CHECK_THROWS_AS(batch_norm(x, Tensor(), Tensor(), stats, stats, true, Tensor::zeros({3})), std::invalid_argument);
  CHECK_THROWS_AS(batch_norm(x, Tensor(), Tensor(), stats, Tensor::zeros({3}, DType::Float64), true),
                  std::invalid_argument);
}

TEST_CASE("dropout drops about `rate` of the elements and scales the rest by 1 / (1 - rate)", "[dropout]") {
  const int64_t n = 100000;
  const double rate = 0.3;
  Generator values(3);
  Tensor x = Tensor::normal({n}, 0, 1, values);
  Generator generator(42);
  std::vector<float> y = dropout(x, rate, true, generator).to_vector<float>();
  std::vector<float> xv = x.to_vector<float>();
  const float scale = float(1.0 / (1.0 - rate));
  int64_t zeros = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (y[size_t(i)] == 0.0f) {
      ++zeros;
    } else if (y[size_t(i)] != xv[size_t(i)] * scale) {
      FAIL("element " << i << ": " << y[size_t(i)] << " is not " << xv[size_t(i)] << " * " << scale);
    }
  }
  // The binomial's standard deviation is 0.00145 here: 0.01 is about seven of them.
  CHECK(double(zeros) / double(n) == Approx(rate).margin(0.01));
  CHECK(generator.offset() == uint64_t(n));
}

TEST_CASE("dropout keeps element i exactly when the stream's uniform at offset + i is >= rate", "[dropout]") {
  const int64_t n = 1001;
  const double rate = 0.4;
  Generator generator(9, 6);  // an offset inside a Philox block
  std::vector<float> y = dropout(Tensor::full({n}, 1.0), rate, true, generator).to_vector<float>();
  // Tensor::uniform on [0, 1) is the stream's philox::uniform itself.
  Generator same_stream(9, 6);
  std::vector<double> u = Tensor::uniform({n}, 0, 1, same_stream, DType::Float64).to_vector<double>();
  for (int64_t i = 0; i < n; ++i) {
    INFO("element " << i << " uniform " << u[size_t(i)]);
    CHECK((y[size_t(i)] != 0.0f) == (u[size_t(i)] >= rate));
  }
}

TEST_CASE("dropout draws the same mask from the same seed and a new one from the next offset", "[dropout]") {
  Tensor x = Tensor::full({4096}, 1.0);
  Generator a(77), b(77);
  std::vector<float> first = dropout(x, 0.5, true, a).to_vector<float>();
  CHECK(dropout(x, 0.5, true, b).to_vector<float>() == first);
  CHECK(dropout(x, 0.5, true, a).to_vector<float>() != first);
  Generator other_seed(78);
  CHECK(dropout(x, 0.5, true, other_seed).to_vector<float>() != first);
}

TEST_CASE("dropout is the identity in evaluation mode and at rate 0, and draws nothing", "[dropout]") {
  Tensor x = Tensor::full({10}, 2.0);
  Generator generator(1);
  CHECK(dropout(x, 0.3, false, generator).impl() == x.impl());
  CHECK(dropout(x, 0.0, true, generator).impl() == x.impl());
  CHECK(generator.offset() == 0);
}

TEST_CASE("dropout rejects a rate outside [0, 1)", "[dropout]") {
  Tensor x = Tensor::full({10}, 2.0);
  Generator generator(1);
  CHECK_THROWS_AS(dropout(x, 1.0, true, generator), std::invalid_argument);
  CHECK_THROWS_AS(dropout(x, -0.1, true, generator), std::invalid_argument);
  CHECK_THROWS_AS(dropout(x, std::nan(""), false, generator), std::invalid_argument);
}

TEST_CASE("dropout's gradient uses the forward mask", "[dropout]") {
  const double rate = 0.25;
  Tensor x = Tensor::full({3000}, 2.0, DType::Float64);
  x.set_requires_grad(true);
  Generator generator(11, 3);
  Tensor y = dropout(x, rate, true, generator);
  sum_all(y).backward();
  std::vector<double> yv = y.to_vector<double>(), g = x.grad().to_vector<double>();
  const double scale = 1.0 / (1.0 - rate);
  int64_t kept = 0;
  for (size_t i = 0; i < yv.size(); ++i) {
    CHECK(g[i] == (yv[i] != 0 ? scale : 0.0));
    kept += yv[i] != 0;
  }
  CHECK(kept > 0);
  CHECK(kept < int64_t(yv.size()));
}

namespace {

// -(z log sigmoid(x) + (1 - z) log(1 - sigmoid(x))), each log written out directly; in double this is
// accurate for |x| <= 30 (exp(30) is far from overflow).
double bce_direct(double x, double z) {
  double log_sigmoid = -std::log(1 + std::exp(-x));
  double log_one_minus_sigmoid = -std::log(1 + std::exp(x));
  return -(z * log_sigmoid + (1 - z) * log_one_minus_sigmoid);
}

}  // namespace

TEST_CASE("bce_with_logits matches the direct formula", "[bce]") {
  std::vector<double> xs = {0, 0, 0, 30, 30, 30, -30, -30, -30, 1.5, -0.7, 4};
  std::vector<double> zs = {0, 0.3, 1, 0, 0.3, 1, 0, 0.3, 1, 1, 0, 0.6};
  Shape shape = {int64_t(xs.size())};
  std::vector<double> loss = bce_with_logits(vector_tensor(xs, shape), vector_tensor(zs, shape)).to_vector<double>();
  CHECK(loss[0] == Approx(std::log(2.0)).epsilon(1e-15));
  for (size_t i = 0; i < xs.size(); ++i) {
    INFO("x " << xs[i] << " z " << zs[i]);
    CHECK(loss[i] == Approx(bce_direct(xs[i], zs[i])).epsilon(1e-12).margin(1e-14));
  }
  std::vector<float> loss32 =
      bce_with_logits(vector_tensor(xs, shape).to(DType::Float32), vector_tensor(zs, shape).to(DType::Float32))
          .to_vector<float>();
  for (size_t i = 0; i < xs.size(); ++i)
    CHECK(loss32[i] == Approx(bce_direct(xs[i], zs[i])).epsilon(1e-6).margin(1e-7));
}

TEST_CASE("bce_with_logits neither overflows nor loses the loss at |x| = 1000", "[bce]") {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Tensor x = vector_tensor({1000, 1000, -1000, -1000}, {4}).to(dtype);
    Tensor z = vector_tensor({0, 1, 0, 1}, {4}).to(dtype);
    x.set_requires_grad(true);
    z.set_requires_grad(true);
    Tensor loss = bce_with_logits(x, z);
    CHECK(loss.to_vector<double>() == std::vector<double>{1000, 0, 0, 1000});
    sum_all(loss).backward();
    CHECK(x.grad().to_vector<double>() == std::vector<double>{1, 0, 0, -1});  // sigmoid(x) - z
    CHECK(z.grad().to_vector<double>() == std::vector<double>{-1000, -1000, 1000, 1000});  // -x
  }
}

TEST_CASE("bce_with_logits gradients are sigmoid(x) - z and -x", "[bce]") {
  std::vector<double> xs = {-2, 0, 0.5, 3}, zs = {0.1, 0.5, 1, 0};
  Tensor x = vector_tensor(xs, {2, 2}), z = vector_tensor(zs, {2, 2});
  x.set_requires_grad(true);
  z.set_requires_grad(true);
  sum_all(bce_with_logits(x, z)).backward();
  std::vector<double> gx = x.grad().to_vector<double>(), gz = z.grad().to_vector<double>();
  for (size_t i = 0; i < xs.size(); ++i) {
    CHECK(gx[i] == Approx(1 / (1 + std::exp(-xs[i])) - zs[i]).epsilon(1e-14));
    CHECK(gz[i] == -xs[i]);
  }
}

TEST_CASE("bce_with_logits requires logits and labels of the same shape", "[bce]") {
  Tensor x = Tensor::zeros({2, 3});
  CHECK_THROWS_AS(bce_with_logits(x, Tensor::zeros({3, 2})), std::invalid_argument);
  CHECK_THROWS_AS(bce_with_logits(x, Tensor::zeros({3})), std::invalid_argument);
  CHECK_THROWS_AS(bce_with_logits(x, Tensor::zeros({2, 3}, DType::Float64)), std::invalid_argument);
  CHECK_THROWS_WITH(bce_with_logits(x, Tensor::zeros({3, 2})), Catch::Contains("[2, 3]") && Catch::Contains("[3, 2]"));
}

}  // namespace ff
