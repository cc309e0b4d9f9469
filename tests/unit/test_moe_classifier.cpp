// The mixture-of-experts classifier: hand-computed logits, the clamp at p = 1e-7 and 1 - 1e-7, precision
// near p = 1 in float32, a loop-by-loop evaluation from the parameters, gradients against central
// differences (alone and inside the whole model) and parameter counts.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "models/moe_classifier.h"
#include "models/nextvlad.h"
#include "support/tiny_model_config.h"
#include "op_cases/gradient_check.h"
#include "support/parameter_gradients.h"

namespace ff {
namespace {

std::vector<double> logits_of(const std::vector<double>& gates, const std::vector<double>& experts, int64_t batch,
                              int64_t mixtures, DType dtype = DType::Float64) {
  Tensor g = Tensor::from_vector(gates, {batch, int64_t(gates.size()) / batch}).to(dtype);
  Tensor e = Tensor::from_vector(experts, {batch, int64_t(experts.size()) / batch}).to(dtype);
  return mixture_of_experts_logits(g, e, mixtures).to(DType::Float64).to_vector<double>();
}

NeXtVladConfig tiny_moe_config() {
  NeXtVladConfig c = test::tiny_model_config();
  c.classifier = "moe";
  c.moe_mixtures = 2;
  return c;
}

}  // namespace

TEST_CASE("MoE logits of a hand-computed case", "[moe]") {
  // Two classes, two experts each; gate activations c*(m+1) + e with the dummy expert last.
  //   class 0: gates softmax(0, 0, 0) = 1/3 each; experts sigmoid(0) = 1/2, sigmoid(ln 3) = 3/4:
  //            p = (1/2 + 3/4) / 3 = 5/12, logit = ln(5/7).
  //   class 1: gates softmax(ln 3, 0, 0) = 3/5, 1/5, 1/5; experts sigmoid(-ln 3) = 1/4, sigmoid(ln 4) = 4/5:
  //            p = 3/20 + 4/25 = 31/100, logit = ln(31/69).
  const std::vector<double> gates = {0, 0, 0, std::log(3.0), 0, 0};
  const std::vector<double> experts = {0, std::log(3.0), -std::log(3.0), std::log(4.0)};
  std::vector<double> logits = logits_of(gates, experts, 1, 2);
  REQUIRE(logits.size() == 2);
  CHECK(logits[0] == Approx(std::log(5.0 / 7.0)).epsilon(1e-12));
  CHECK(logits[1] == Approx(std::log(31.0 / 69.0)).epsilon(1e-12));

  SECTION("one expert: the mixture is gate * sigmoid") {
    // softmax(ln 4, 0) = 4/5, 1/5; sigmoid(0) = 1/2: p = 2/5, logit = ln(2/3).
    std::vector<double> one = logits_of({std::log(4.0), 0}, {0}, 1, 1);
    CHECK(one[0] == Approx(std::log(2.0 / 3.0)).epsilon(1e-12));
  }
  SECTION("shapes that do not fit the mixture count are refused") {
    CHECK_THROWS_AS(logits_of(gates, experts, 1, 3), std::invalid_argument);
    CHECK_THROWS_AS(logits_of(gates, {0, 0, 0}, 1, 2), std::invalid_argument);
    CHECK_THROWS_AS(logits_of(gates, experts, 1, 0), std::invalid_argument);
  }
}

TEST_CASE("MoE logits are clamped at logit(1e-7) and stay precise near p = 1 in float32", "[moe]") {
  const double bound = std::log(kMoeProbabilityEpsilon) - std::log1p(-kMoeProbabilityEpsilon);
  // class 0: every expert says ~e^-60, so p << 1e-7; class 1: the dummy gate is ~e^-60 and the experts say
  // ~1, so 1 - p << 1e-7.
  const std::vector<double> gates = {0, 0, 0, 0, 0, -60};
  const std::vector<double> experts = {-60, -60, 60, 60};
  for (DType dtype : {DType::Float64, DType::Float32}) {
    INFO(dtype_name(dtype));
    std::vector<double> logits = logits_of(gates, experts, 1, 2, dtype);
    CHECK(logits[0] == Approx(std::log(kMoeProbabilityEpsilon)).epsilon(1e-6));  // log(1e-7) - log(~1)
    CHECK(logits[1] == Approx(-std::log(kMoeProbabilityEpsilon)).epsilon(1e-6));
    CHECK(std::fabs(logits[0]) <= std::fabs(bound) * (1 + 1e-6));
  }

  // p = sigmoid(14) with a negligible dummy gate: 1 - p = 8.3e-7, only 14 float32 steps below 1, so 1 - p
  // formed by a subtraction would be off by up to 4% and the logit by 0.04. The logit is 14 (to 1e-7).
  std::vector<double> near_one = logits_of({0, 0, -40}, {14, 14}, 1, 2, DType::Float32);
  CHECK(near_one[0] == Approx(14.0).epsilon(1e-6));

  SECTION("the gradient below the floor is zero, as a clamp's") {
    Tensor g = Tensor::from_vector(std::vector<double>{0, 0, 0}, {1, 3}).set_requires_grad();
    Tensor e = Tensor::from_vector(std::vector<double>{-60, -60}, {1, 2}).set_requires_grad();
    mixture_of_experts_logits(g, e, 2).backward(Tensor::full({1, 1}, 1.0, DType::Float64));
    for (double value : e.grad().to_vector<double>()) CHECK(std::fabs(value) < 1e-20);
  }
}

TEST_CASE("MoE classifier agrees with a loop-by-loop evaluation of its parameters", "[moe]") {
  constexpr int64_t batch = 3, hidden = 4, classes = 3, mixtures = 3;
  ParameterSet parameters;
  Generator generator(5);
  ModelInit init{parameters, generator, DType::Float64, Device::cpu()};
  MoeClassifier moe("classifier", hidden, classes, mixtures, init);
  test::perturb_parameters(parameters, 6, 0.5);
  Tensor x = Tensor::normal({batch, hidden}, 0.0, 1.0, generator, DType::Float64);
  std::vector<double> logits = moe.forward(x).to_vector<double>();
  REQUIRE(logits.size() == size_t(batch * classes));

  auto values = [&](const char* name) { return parameters.find(name)->value.to_vector<double>(); };
  const std::vector<double> gate_w = values("classifier.gate.weight"), gate_b = values("classifier.gate.bias");
  const std::vector<double> expert_w = values("classifier.experts.weight"), expert_b = values("classifier.experts.bias");
  const std::vector<double> input = x.to_vector<double>();
  auto fc = [&](const std::vector<double>& w, const std::vector<double>& b, int64_t row, int64_t sample) {
    double out = b[size_t(row)];
    for (int64_t h = 0; h < hidden; ++h) out += w[size_t(row * hidden + h)] * input[size_t(sample * hidden + h)];
    return out;
  };
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t c = 0; c < classes; ++c) {
      std::vector<double> gate(mixtures + 1);
      double total = 0;
      for (int64_t e = 0; e <= mixtures; ++e) total += gate[size_t(e)] = std::exp(fc(gate_w, gate_b, c * (mixtures + 1) + e, b));
      double p = 0;
      for (int64_t e = 0; e < mixtures; ++e)
        p += gate[size_t(e)] / total / (1 + std::exp(-fc(expert_w, expert_b, c * mixtures + e, b)));
      INFO("video " << b << " class " << c << " p " << p);
      CHECK(logits[size_t(b * classes + c)] == Approx(std::log(p / (1 - p))).epsilon(1e-10));
    }
}

TEST_CASE("MoE classifier gradients match central differences", "[moe]") {
  ParameterSet parameters;
  Generator generator(8);
  ModelInit init{parameters, generator, DType::Float64, Device::cpu()};
  MoeClassifier moe("classifier", 5, 4, 2, init);
  test::perturb_parameters(parameters, 9);
  Tensor x = Tensor::normal({3, 5}, 0.0, 1.0, generator, DType::Float64).set_requires_grad();
  auto objective = [&] { return test::weighted_objective(moe.forward(x), 10); };
  objective().backward();

  std::vector<std::pair<std::string, Tensor>> checked = {{"hidden", x}};
  for (const Parameter& p : parameters.all()) checked.emplace_back(p.name, p.value);
  REQUIRE(checked.size() == 5);
  test::NamedGradientReport report = test::check_named_gradients(objective, checked);
  INFO("worst relative error at " << report.where);
  CHECK(report.max_error < 1e-7);
}

TEST_CASE("NeXtVLAD with the MoE classifier: gradients of every parameter and input", "[moe][nextvlad]") {
  Generator init(17);
  NeXtVladModel model(tiny_moe_config(), init, DType::Float64);
  test::perturb_parameters(model.parameters(), 18);
  Generator data(19);
  Tensor rgb = Tensor::normal({3, 5, 6}, 0.0, 1.0, data, DType::Float64).set_requires_grad();
  Tensor audio = Tensor::normal({3, 5, 4}, 0.0, 1.0, data, DType::Float64).set_requires_grad();
  Generator dropout_generator(20);
  auto objective = [&] {
    return test::weighted_objective(model.forward(rgb, audio, {5, 2, 1}, true, dropout_generator).logits, 21);
  };
  objective().backward();

  std::vector<std::pair<std::string, Tensor>> checked = {{"frames_rgb", rgb}, {"frames_audio", audio}};
  for (const Parameter& p : model.parameters().all())
    if (p.trainable) checked.emplace_back(p.name, p.value);
  REQUIRE(checked.size() == 2 + 20 + 7 + 4);  // 10 per NeXtVLAD block, 7 in the head, 4 in the MoE
  test::NamedGradientReport report = test::check_named_gradients(objective, checked);
  INFO("worst relative error at " << report.where);
  CHECK(report.max_error < 1e-6);
}

TEST_CASE("MoE classifier parameter count, names and regularisation", "[moe][nextvlad]") {
  // Tiny config: as the logistic one (294 + 117 + 336 + 72 + 45, see test_nextvlad.cpp) with the classifier
  // 8*5 + 5 = 45 replaced by the gate 8*15 + 15 = 135 and the experts 8*10 + 10 = 90.
  CHECK(MoeClassifier::parameter_count(8, 5, 2) == 135 + 90);
  CHECK(parameter_count(tiny_moe_config()) == 294 + 117 + 336 + 72 + 135 + 90);
  Generator init(23);
  NeXtVladModel model(tiny_moe_config(), init, DType::Float64);
  CHECK(model.parameters().trainable_count() == parameter_count(tiny_moe_config()));

  // Default with MoE-2: the logistic default 88,889,378 less its classifier 2048*3862 + 3862 = 7,913,238,
  // plus the gate 2048*11586 + 11586 = 23,739,714 and the experts 2048*7724 + 7724 = 15,826,476.
  NeXtVladConfig moe2;
  moe2.classifier = "moe";
  const int64_t by_hand = 88889378 - 7913238 + 23739714 + 15826476;
  CHECK(by_hand == 120542330);
  CHECK(parameter_count(moe2) == by_hand);
  moe2.moe_mixtures = 4;  // the NeXtVLAD code's flag default: (H + 1) * C * 9
  CHECK(parameter_count(moe2) == 88889378 - 7913238 + 2049 * 3862 * 9);

  std::set<std::string> regularized;
  for (const Parameter& p : model.parameters().all())
    if (p.l2_regularized) regularized.insert(p.name);
  CHECK(regularized == std::set<std::string>{"classifier.gate.weight", "classifier.gate.bias",
                                             "classifier.experts.weight", "classifier.experts.bias"});
  CHECK(model.parameters().find("classifier.gate.weight")->value.shape() == Shape{15, 8});
  CHECK(model.parameters().find("classifier.experts.weight")->value.shape() == Shape{10, 8});
  CHECK(model.parameters().find("classifier.weight") == nullptr);

  NeXtVladConfig none = tiny_moe_config();
  none.moe_mixtures = 0;
  CHECK_THROWS_AS(parameter_count(none), std::invalid_argument);
}

}  // namespace ff
