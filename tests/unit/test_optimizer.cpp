// Optimizers and learning-rate schedules against values worked out here, in double, from the formulas of
// engine/optimizer.h (TensorFlow's AdamOptimizer, MomentumOptimizer, clip_by_norm, l2_loss).
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <vector>

#include "engine/lr_schedule.h"
#include "engine/ops.h"
#include "engine/optimizer.h"

namespace ff::test {
namespace {

// Gradients as backward() would leave them, written directly so each test controls them exactly.
void set_grad(const Tensor& parameter, const std::vector<float>& values) {
  parameter.impl()->grad = Tensor::from_vector(values, parameter.shape()).impl();
}

void require_close(const std::vector<float>& actual, const std::vector<double>& expected, double tolerance = 1e-6) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    INFO("element " << i << ": " << actual[i] << " vs " << expected[i]);
    CHECK(std::abs(double(actual[i]) - expected[i]) <= tolerance * std::max(1.0, std::abs(expected[i])));
  }
}

Tensor state_entry(const Optimizer& optimizer, const std::string& name) {
  for (auto& [entry_name, tensor] : optimizer.state())
    if (entry_name == name) return tensor;
  FAIL("no state entry " << name);
  return Tensor();
}

// The TF Adam step in double for one tensor, preprocessing included.
struct AdamReference {
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, l2 = 0, clip_norm = 0;
  std::vector<double> param, m, v;
  int t = 0;

  void step(const std::vector<double>& grad, double learning_rate) {
    ++t;
    std::vector<double> g(grad.size());
    double sum = 0;
    for (size_t i = 0; i < g.size(); ++i) {
      g[i] = grad[i] + l2 * param[i];
      sum += g[i] * g[i];
    }
    double norm = std::sqrt(sum);
    if (clip_norm > 0)
      for (double& x : g) x = x * clip_norm / std::max(norm, clip_norm);
    double lr_t = learning_rate * std::sqrt(1 - std::pow(beta2, t)) / (1 - std::pow(beta1, t));
    for (size_t i = 0; i < g.size(); ++i) {
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      param[i] -= lr_t * m[i] / (std::sqrt(v[i]) + epsilon);
    }
  }
};

std::vector<double> as_double(const std::vector<float>& values) { return {values.begin(), values.end()}; }

}  // namespace

TEST_CASE("Adam follows TF's update for three steps, worked out by hand", "[optimizer][adam]") {
  ParameterSet parameters;
  Tensor p = parameters.add("w", Tensor::from_vector<float>({0.5f, -1.0f, 2.0f}, {3}));
  AdamOptions options;
  options.preprocessing.clip_norm = 0;  // this test isolates the update rule
  AdamOptimizer adam(parameters, options);

  // Step 1, lr 0.1, g = (0.1, -0.2, 0.4): m = 0.1 g, v = 0.001 g^2, lr_t = 0.1 sqrt(0.001) / 0.1 = sqrt(0.001),
  // so each element moves by sqrt(0.001) * 0.1 g / (sqrt(0.001) |g| + 1e-8) ~= 0.1 * sign(g).
  set_grad(p, {0.1f, -0.2f, 0.4f});
  adam.step(0.1);
  const double step1 = 0.1 * std::sqrt(0.001) / (std::sqrt(0.001) + 1e-8 / 0.1);  // element 0: |g| = 0.1
  CHECK(p.to_vector<float>()[0] == Approx(0.5 - step1).epsilon(1e-6));
  require_close(p.to_vector<float>(), {0.4, -0.9, 1.9}, 1e-6);
  require_close(state_entry(adam, "w.adam_m").to_vector<float>(), {0.01, -0.02, 0.04});
  require_close(state_entry(adam, "w.adam_v").to_vector<float>(), {1e-5, 4e-5, 1.6e-4});

  AdamReference reference;
  reference.param = {0.5, -1.0, 2.0};
  reference.m = reference.v = {0, 0, 0};
  reference.step({0.1, -0.2, 0.4}, 0.1);
  // Steps 2 and 3 with different gradients and learning rates (a schedule at work).
  set_grad(p, {-0.3f, 0.05f, 0.4f});
  adam.step(0.05);
  reference.step({-0.3, 0.05, 0.4}, 0.05);
  set_grad(p, {0.2f, 0.0f, -1.5f});
  adam.step(0.02);
  reference.step({0.2, 0.0, -1.5}, 0.02);

  CHECK(adam.step_count() == 3);
  require_close(p.to_vector<float>(), reference.param);
  require_close(state_entry(adam, "w.adam_m").to_vector<float>(), reference.m);
  require_close(state_entry(adam, "w.adam_v").to_vector<float>(), reference.v);
  // Step 2 by hand for element 1, as a check on the reference itself: m = 0.9 (-0.02) + 0.1 (0.05) = -0.013.
  // v = 0.999 (4e-5) + 0.001 (0.0025) = 4.246e-5; after step 3 (g = 0): m = -0.0117, v = 4.241754e-5.
  CHECK(reference.m[1] == Approx(0.9 * -0.013).epsilon(1e-12));
  CHECK(reference.v[1] == Approx(0.999 * 4.246e-5).epsilon(1e-12));
}

TEST_CASE("clip by norm scales a tensor's gradient only when its norm exceeds the threshold", "[optimizer][clip]") {
  ParameterSet parameters;
  Tensor big = parameters.add("big", Tensor::from_vector<float>({1.0f, 1.0f}, {2}));
  Tensor small = parameters.add("small", Tensor::from_vector<float>({1.0f, 1.0f}, {2}));
  // Momentum 0 and learning rate 1: the parameter moves by exactly the preprocessed gradient.
  MomentumOptions options;
  options.momentum = 0;
  options.preprocessing.clip_norm = 1.0f;
  MomentumOptimizer sgd(parameters, options);
  set_grad(big, {3.0f, 4.0f});      // norm 5 > 1: becomes (0.6, 0.8)
  set_grad(small, {0.3f, -0.4f});   // norm 0.5 <= 1: unchanged
  sgd.step(1.0);
  require_close(big.to_vector<float>(), {1 - 0.6, 1 - 0.8});
  require_close(small.to_vector<float>(), {1 - 0.3, 1 + 0.4});

  SECTION("Adam clips the same way: its first m is 0.1 times the clipped gradient") {
    ParameterSet adam_parameters;
    Tensor a = adam_parameters.add("a", Tensor::from_vector<float>({0.0f, 0.0f}, {2}));
    Tensor b = adam_parameters.add("b", Tensor::from_vector<float>({0.0f, 0.0f}, {2}));
    AdamOptimizer adam(adam_parameters);  // the default clip norm is the original's 1.0
    set_grad(a, {3.0f, 4.0f});
    set_grad(b, {0.3f, -0.4f});
    adam.step(0.01);
    require_close(state_entry(adam, "a.adam_m").to_vector<float>(), {0.06, 0.08});
    require_close(state_entry(adam, "b.adam_m").to_vector<float>(), {0.03, -0.04});
  }
  SECTION("clip_norm <= 0 turns clipping off") {
    ParameterSet plain;
    Tensor c = plain.add("c", Tensor::from_vector<float>({0.0f, 0.0f}, {2}));
    options.preprocessing.clip_norm = 0;
    MomentumOptimizer unclipped(plain, options);
    set_grad(c, {3.0f, 4.0f});
    unclipped.step(1.0);
    require_close(c.to_vector<float>(), {-3.0, -4.0});
  }
}

TEST_CASE("L2 regularization applies only to the chosen tensors, before clipping", "[optimizer][l2]") {
  ParameterSet parameters;
  Tensor regularized = parameters.add("regularized", Tensor::from_vector<float>({2.0f, -4.0f}, {2}), true);
  Tensor plain = parameters.add("plain", Tensor::from_vector<float>({2.0f, -4.0f}, {2}), false);
  MomentumOptions options;
  options.momentum = 0;
  options.preprocessing.l2 = 0.5f;
  options.preprocessing.clip_norm = 0;
  MomentumOptimizer sgd(parameters, options);
  set_grad(regularized, {0.1f, 0.1f});
  set_grad(plain, {0.1f, 0.1f});
  sgd.step(0.1);
  // g = 0.1 + 0.5 p for the regularized tensor only (the gradient of 0.5/2 * sum(p^2)).
  require_close(regularized.to_vector<float>(), {2.0 - 0.1 * (0.1 + 1.0), -4.0 - 0.1 * (0.1 - 2.0)});
  require_close(plain.to_vector<float>(), {2.0 - 0.01, -4.0 - 0.01});

  SECTION("the l2 term counts in the norm that is clipped") {
    ParameterSet clipped_parameters;
    Tensor q = clipped_parameters.add("q", Tensor::from_vector<float>({3.0f, 4.0f}, {2}), true);
    options.preprocessing.l2 = 1.0f;
    options.preprocessing.clip_norm = 1.0f;
    MomentumOptimizer clipped(clipped_parameters, options);
    set_grad(q, {0.0f, 0.0f});  // g = p = (3, 4), norm 5, clipped to (0.6, 0.8)
    clipped.step(1.0);
    require_close(q.to_vector<float>(), {2.4, 3.2});
  }
}

TEST_CASE("momentum SGD follows TF's MomentumOptimizer, worked out by hand", "[optimizer][momentum]") {
  ParameterSet parameters;
  Tensor p = parameters.add("w", Tensor::from_vector<float>({1.0f, -2.0f}, {2}));
  MomentumOptions options;
  options.momentum = 0.9f;
  options.preprocessing.clip_norm = 0;
  MomentumOptimizer sgd(parameters, options);
  // accumulator = 0.9 accumulator + g; p -= lr accumulator.
  set_grad(p, {0.5f, 1.0f});
  sgd.step(0.1);  // acc = (0.5, 1); p = (0.95, -2.1)
  require_close(p.to_vector<float>(), {0.95, -2.1});
  set_grad(p, {-0.5f, 1.0f});
  sgd.step(0.1);  // acc = (0.45 - 0.5, 0.9 + 1) = (-0.05, 1.9); p = (0.955, -2.29)
  require_close(p.to_vector<float>(), {0.955, -2.29});
  set_grad(p, {0.0f, 0.0f});
  sgd.step(0.2);  // acc = (-0.045, 1.71); p = (0.955 + 0.009, -2.29 - 0.342)
  require_close(p.to_vector<float>(), {0.964, -2.632});
  require_close(state_entry(sgd, "w.momentum").to_vector<float>(), {-0.045, 1.71});
  CHECK(state_entry(sgd, "momentum.step").item() == 3);
}

TEST_CASE("staircase exponential decay of the learning rate", "[optimizer][schedule]") {
  LearningRateSchedule original;  // 2e-4, x0.8 every 2,000,000 examples
  CHECK(original.rate_at(0) == Approx(2e-4).epsilon(1e-12));
  CHECK(original.rate_at(1'999'999) == Approx(2e-4).epsilon(1e-12));
  CHECK(original.rate_at(2'000'000) == Approx(1.6e-4).epsilon(1e-12));
  CHECK(original.rate_at(4'000'001) == Approx(1.28e-4).epsilon(1e-12));
  CHECK(original.rate_at(20'000'000) == Approx(2e-4 * std::pow(0.8, 10)).epsilon(1e-12));

  LearningRateSchedule custom = LearningRateSchedule::staircase_exponential(0.1, 0.5, 10);
  CHECK(custom.rate_at(9) == Approx(0.1));
  CHECK(custom.rate_at(10) == Approx(0.05));
  CHECK(custom.rate_at(35) == Approx(0.0125));

  LearningRateSchedule constant = LearningRateSchedule::constant(3e-3);
  for (int64_t examples : {int64_t(0), int64_t(1), int64_t(123'456'789'000)})
    CHECK(constant.rate_at(examples) == Approx(3e-3).epsilon(1e-15));

  CHECK_THROWS_AS(original.rate_at(-1), std::invalid_argument);
  CHECK_THROWS_AS(LearningRateSchedule::staircase_exponential(1e-3, 0.8, 0), std::invalid_argument);
  CHECK_THROWS_AS(LearningRateSchedule::staircase_exponential(1e-3, -0.8, 10), std::invalid_argument);
  CHECK_THROWS_AS(LearningRateSchedule::constant(std::nan("")), std::invalid_argument);
}

TEST_CASE("optimizer state exported and restored gives the same next steps", "[optimizer][state]") {
  auto make_parameters = [](ParameterSet& set) {
    set.add("layer.weights", Tensor::from_vector<float>({0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f}, {2, 3}), true);
    set.add("layer.bias", Tensor::from_vector<float>({0.05f, -0.05f}, {2}));
    set.add_buffer("layer.running_mean", Tensor::from_vector<float>({1.0f, 2.0f}, {2}));
  };
  auto set_step_grads = [](ParameterSet& set, int step) {
    set_grad(set.all()[0].value, {0.3f * step, -0.1f, 0.7f, -0.2f * step, 0.05f, 0.9f});
    set_grad(set.all()[1].value, {-0.4f, 0.1f * step});
  };
  AdamOptions options;
  options.preprocessing.l2 = 0.1f;

  ParameterSet original;
  make_parameters(original);
  AdamOptimizer adam(original, options);
  for (int step = 1; step <= 3; ++step) {
    set_step_grads(original, step);
    adam.step(1e-2);
  }
  NamedTensors exported = adam.state();
  std::vector<std::string> names;
  for (auto& [name, tensor] : exported) names.push_back(name);
  CHECK(names == std::vector<std::string>{"layer.weights.adam_m", "layer.weights.adam_v", "layer.bias.adam_m",
                                          "layer.bias.adam_v", "adam.step"});
  // A checkpoint holds copies, together with the parameters themselves.
  std::map<std::string, Tensor> checkpoint;
  for (auto& [name, tensor] : exported) checkpoint[name] = tensor.clone();
  for (const Parameter& p : original.all()) checkpoint[p.name] = p.value.clone();

  auto restored_parameters = [&](ParameterSet& set) {
    make_parameters(set);
    for (Parameter& p : set.all()) p.value.copy_from(checkpoint.at(p.name));
  };
  ParameterSet restored;
  restored_parameters(restored);
  AdamOptimizer resumed(restored, options);
  resumed.load_state(checkpoint);
  CHECK(resumed.step_count() == 3);

  ParameterSet fresh;  // same parameters, no optimizer state: its next steps must differ
  restored_parameters(fresh);
  AdamOptimizer restarted(fresh, options);

  for (int step = 4; step <= 5; ++step) {
    for (ParameterSet* set : {&original, &restored, &fresh}) set_step_grads(*set, step);
    adam.step(1e-2);
    resumed.step(1e-2);
    restarted.step(1e-2);
  }
  for (size_t i = 0; i < original.all().size(); ++i) {
    INFO(original.all()[i].name);
    CHECK(restored.all()[i].value.to_vector<float>() == original.all()[i].value.to_vector<float>());
  }
  CHECK(fresh.all()[0].value.to_vector<float>() != original.all()[0].value.to_vector<float>());

  SECTION("missing or mis-shaped entries are reported by name and change nothing") {
    ParameterSet target;
    make_parameters(target);
    AdamOptimizer other(target, options);
    auto without = checkpoint;
    without.erase("layer.bias.adam_v");
    CHECK_THROWS_WITH(other.load_state(without), Catch::Contains("\"layer.bias.adam_v\" is missing"));
    auto misshaped = checkpoint;
    misshaped["layer.weights.adam_m"] = Tensor::zeros({3, 2});
    CHECK_THROWS_WITH(other.load_state(misshaped), Catch::Contains("layer.weights.adam_m") &&
                                                       Catch::Contains("[3, 2]") && Catch::Contains("[2, 3]"));
    auto no_step = checkpoint;
    no_step.erase("adam.step");
    CHECK_THROWS_WITH(other.load_state(no_step), Catch::Contains("\"adam.step\" is missing"));
    auto bad_step = checkpoint;
    bad_step["adam.step"] = Tensor::from_vector<int64_t>({1, 2}, {2});
    CHECK_THROWS_WITH(other.load_state(bad_step), Catch::Contains("adam.step"));
    CHECK(other.step_count() == 0);
    for (auto& [name, tensor] : other.state())
      if (name != "adam.step") CHECK(tensor.to_vector<float>() == std::vector<float>(size_t(tensor.numel()), 0.0f));
    // Momentum state is not Adam state.
    ParameterSet momentum_target;
    make_parameters(momentum_target);
    MomentumOptimizer momentum(momentum_target);
    CHECK_THROWS_WITH(momentum.load_state(checkpoint), Catch::Contains("\"layer.weights.momentum\" is missing"));
  }
}

TEST_CASE("parameters without a gradient and buffers are left alone", "[optimizer]") {
  ParameterSet parameters;
  Tensor used = parameters.add("used", Tensor::from_vector<float>({1.0f}, {1}));
  Tensor unused = parameters.add("unused", Tensor::from_vector<float>({1.0f}, {1}));
  Tensor buffer = parameters.add_buffer("buffer", Tensor::from_vector<float>({1.0f}, {1}));
  AdamOptimizer adam(parameters);
  set_grad(used, {0.5f});
  set_grad(buffer, {0.5f});  // a stray gradient on a buffer must not move it
  adam.step(0.1);
  CHECK(used.to_vector<float>()[0] < 1.0f);
  CHECK(unused.to_vector<float>()[0] == 1.0f);
  CHECK(state_entry(adam, "unused.adam_m").to_vector<float>()[0] == 0.0f);
  CHECK(buffer.to_vector<float>()[0] == 1.0f);
  CHECK(adam.step_count() == 1);

  unused.impl()->grad = Tensor::from_vector<float>({0.5f, 0.5f}, {2}).impl();  // shape [2] for a [1] parameter
  CHECK_THROWS_WITH(adam.step(0.1), Catch::Contains("unused"));
  CHECK(adam.step_count() == 1);
  CHECK_THROWS_AS(adam.step(-1.0), std::invalid_argument);

  ParameterSet doubles;
  doubles.add("d", Tensor::zeros({2}, DType::Float64));
  CHECK_THROWS_WITH(AdamOptimizer(doubles), Catch::Contains("\"d\"") && Catch::Contains("float32"));
}

TEST_CASE("Adam minimises a quadratic", "[optimizer][adam]") {
  Generator generator(42);
  Tensor target = Tensor::uniform({64}, -1.0, 1.0, generator);
  ParameterSet parameters;
  Tensor p = parameters.add("p", Tensor::zeros({64}));
  AdamOptimizer adam(parameters);
  auto loss_value = [&] {
    Tensor loss = sum_all(square(sub(p, target)));
    return loss;
  };
  const double initial = loss_value().item();
  REQUIRE(initial > 5.0);
  for (int step = 0; step < 200; ++step) {
    parameters.zero_grad();
    loss_value().backward();
    adam.step(0.02);
  }
  const double final_loss = loss_value().item();
  INFO("loss " << initial << " -> " << final_loss);
  CHECK(final_loss < 1e-5 * initial);
}

}  // namespace ff::test
