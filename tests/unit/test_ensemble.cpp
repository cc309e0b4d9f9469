// The ensemble of NeXtVLAD branches (models/nextvlad.h with ensemble_size > 1) and its on-the-fly
// distillation (models/ensemble_loss.h): parameter names and count, the mixture of the branch logits under
// the gate, the loss against a direct double-precision evaluation, its gradient by central differences,
// and the single model left exactly as it was.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "models/ensemble_loss.h"
#include "models/nextvlad.h"
#include "models/nextvlad_cost.h"
#include "support/tiny_model_config.h"

namespace ff::models {
namespace {

using Catch::Matchers::Contains;

NeXtVladConfig tiny_config(int64_t ensemble_size) {
  NeXtVladConfig c = test::tiny_model_config();
  c.ensemble_size = ensemble_size;
  return c;
}

// L_ens evaluated directly from its definition in double precision on the host.
double direct_ensemble_loss(const std::vector<std::vector<double>>& branches, const std::vector<double>& mixture,
                            const std::vector<double>& labels, int64_t batch, int64_t classes, double weight,
                            double temperature) {
  auto log_softmax_row = [&](const std::vector<double>& z, int64_t b) {
    std::vector<double> out(static_cast<size_t>(classes));
    double top = -INFINITY, total = 0;
    for (int64_t c = 0; c < classes; ++c) top = std::max(top, z[size_t(b * classes + c)] / temperature);
    for (int64_t c = 0; c < classes; ++c) total += std::exp(z[size_t(b * classes + c)] / temperature - top);
    for (int64_t c = 0; c < classes; ++c) out[size_t(c)] = z[size_t(b * classes + c)] / temperature - top - std::log(total);
    return out;
  };
  double bce = 0, kl = 0;
  for (const std::vector<double>& z : branches)
    for (int64_t b = 0; b < batch; ++b) {
      std::vector<double> log_p_e = log_softmax_row(mixture, b), log_p_m = log_softmax_row(z, b);
      for (int64_t c = 0; c < classes; ++c) {
        const double x = z[size_t(b * classes + c)], y = labels[size_t(b * classes + c)];
        bce += std::max(x, 0.0) - x * y + std::log1p(std::exp(-std::abs(x)));
        kl += std::exp(log_p_e[size_t(c)]) * (log_p_e[size_t(c)] - log_p_m[size_t(c)]);
      }
    }
  return (bce + weight * kl) / double(batch);
}

}  // namespace

TEST_CASE("an ensemble names its branches and gate and counts their parameters", "[ensemble]") {
  Generator generator(3);
  NeXtVladModel single(tiny_config(1), generator);
  NeXtVladModel ensemble(tiny_config(3), generator);
  std::set<std::string> single_names, ensemble_names;
  for (const Parameter& p : single.parameters().all()) single_names.insert(p.name);
  for (const Parameter& p : ensemble.parameters().all()) ensemble_names.insert(p.name);
  CHECK(single_names.count("classifier.weight") == 1);
  CHECK(single_names.count("video_vlad.cluster_weights") == 1);
  for (const std::string& name : single_names)
    for (int m = 0; m < 3; ++m) CHECK(ensemble_names.count("branch" + std::to_string(m) + "." + name) == 1);
  for (const char* gate : {"mix_gate.weight", "mix_gate.bias", "mix_gate.bn.weight", "mix_gate.bn.bias",
                           "mix_gate.bn.running_mean", "mix_gate.bn.running_var"})
    CHECK(ensemble_names.count(gate) == 1);
  CHECK(ensemble_names.size() == 3 * single_names.size() + 6);
  CHECK(parameter_count(tiny_config(1)) == single.parameters().trainable_count());
  CHECK(parameter_count(tiny_config(3)) == ensemble.parameters().trainable_count());
  CHECK(parameter_count(tiny_config(3)) == 3 * parameter_count(tiny_config(1)) + 2 * 10 + 3 * 10 + 3);
  // The cost model: three branches and a gate.
  CHECK(nextvlad_cost(tiny_config(3)).frame_flops_per_frame == 3 * nextvlad_cost(tiny_config(1)).frame_flops_per_frame);
  CHECK(nextvlad_cost(tiny_config(3)).video_flops == 3 * nextvlad_cost(tiny_config(1)).video_flops + 2 * 3 * 10);
}

TEST_CASE("an ensemble config is checked and round-trips through JSON", "[ensemble]") {
  CHECK_THROWS_WITH(validate(tiny_config(0)), Contains("ensemble_size must lie in [1, 16], got 0"));
  CHECK_THROWS_WITH(validate(tiny_config(17)), Contains("ensemble_size"));
  CHECK(nextvlad_config_from_json(to_json(tiny_config(3))).ensemble_size == 3);
  CHECK(nextvlad_config_from_json(nlohmann::json::object()).ensemble_size == 1);  // older checkpoints
}

TEST_CASE("the ensemble's prediction is the gate's mixture of the branch logits", "[ensemble]") {
  Generator init(5), noise(6);
  NeXtVladModel model(tiny_config(3), init);
  Tensor rgb = Tensor::normal({4, 5, 6}, 0, 1, noise), audio = Tensor::normal({4, 5, 4}, 0, 1, noise);
  for (bool training : {true, false}) {
    NeXtVladOutput out = model.forward(rgb, audio, {5, 2, 1, 0}, training, noise);
    REQUIRE(out.branch_logits.size() == 3);
    CHECK(out.mixture_weights.shape() == Shape{4, 3});
    std::vector<float> a = out.mixture_weights.to_vector<float>(), mixture = out.logits.to_vector<float>();
    std::vector<std::vector<float>> z;
    for (const Tensor& t : out.branch_logits) z.push_back(t.to_vector<float>());
    for (int64_t b = 0; b < 4; ++b) {
      CHECK(a[size_t(b * 3)] + a[size_t(b * 3 + 1)] + a[size_t(b * 3 + 2)] == Approx(1.0).epsilon(1e-6));
      for (int64_t c = 0; c < 5; ++c) {
        double expected = 0;
        for (size_t m = 0; m < 3; ++m) expected += a[size_t(b * 3) + m] * z[m][size_t(b * 5 + c)];
        CHECK(mixture[size_t(b * 5 + c)] == Approx(expected).margin(1e-6));
      }
    }
    CHECK(out.encoding.size(1) == 3 * (4 * 2 * 6 / 2 + 2 * 2 * 4 / 1));
    CHECK(out.hidden.shape() == Shape{4, 24});
  }
}

TEST_CASE("a moved model still runs after the original is destroyed", "[ensemble]") {
  Generator init(5), noise(6);
  for (int64_t m : {1, 3}) {
    auto original = std::make_unique<NeXtVladModel>(tiny_config(m), init);
    NeXtVladModel model(std::move(*original));
    original.reset();  // the branches must not refer to the destroyed, moved-from model
    NeXtVladOutput out = model.forward(Tensor::normal({2, 5, 6}, 0, 1, noise), Tensor::normal({2, 5, 4}, 0, 1, noise),
                                       {5, 3}, true, noise);
    CHECK(out.logits.shape() == Shape{2, 5});
    CHECK(std::isfinite(sum_all(out.logits).item()));
  }
}

TEST_CASE("the single model's output has no ensemble parts", "[ensemble]") {
  Generator init(5), noise(6);
  NeXtVladModel model(tiny_config(1), init);
  NeXtVladOutput out = model.forward(Tensor::normal({2, 5, 6}, 0, 1, noise), Tensor::normal({2, 5, 4}, 0, 1, noise),
                                     {5, 3}, true, noise);
  CHECK(out.branch_logits.empty());
  CHECK_FALSE(out.mixture_weights.defined());
  CHECK_THROWS_WITH(ensemble_losses(out, Tensor::zeros({2, 5}), {}), Contains("2 or more branches"));
}

TEST_CASE("the ensemble loss equals its definition and its gradient its finite differences", "[ensemble]") {
  const int64_t batch = 3, classes = 7;
  Generator generator(12);
  std::vector<Tensor> branches;
  for (int m = 0; m < 3; ++m) branches.push_back(Tensor::normal({batch, classes}, 0, 3, generator, DType::Float64));
  std::vector<double> labels(size_t(batch * classes), 0.0);
  for (size_t i = 0; i < labels.size(); i += 4) labels[i] = 1.0;
  const Tensor label_tensor = Tensor::from_vector(labels, {batch, classes});
  const std::vector<double> mix = {0.5, 0.3, 0.2};
  const EnsembleLossOptions options{2.5, 3.0};

  // The mixture as a fixed blend of the branches, so that the gradient also flows through p_e.
  auto evaluate = [&](const std::vector<Tensor>& z) {
    NeXtVladOutput out;
    for (size_t m = 0; m < z.size(); ++m) {
      Tensor part = scale(z[m], mix[m]);
      out.logits = out.logits.defined() ? add(out.logits, part) : part;
      out.branch_logits.push_back(z[m]);
    }
    return ensemble_losses(out, label_tensor, options);
  };
  auto host = [](const Tensor& t) { return t.to_vector<double>(); };

  std::vector<Tensor> inputs;
  for (const Tensor& b : branches) inputs.push_back(b.clone().set_requires_grad(true));
  EnsembleLosses losses = evaluate(inputs);
  std::vector<double> mixture(size_t(batch * classes), 0.0);
  for (size_t m = 0; m < 3; ++m)
    for (size_t i = 0; i < mixture.size(); ++i) mixture[i] += mix[m] * host(branches[m])[i];
  const double expected = direct_ensemble_loss({host(branches[0]), host(branches[1]), host(branches[2])}, mixture,
                                               labels, batch, classes, options.kl_weight, options.temperature);
  CHECK(losses.total.item() == Approx(expected).epsilon(1e-12));
  CHECK(losses.branch_label + options.kl_weight * losses.kl == Approx(expected).epsilon(1e-12));
  CHECK(losses.kl > 0);

  losses.total.backward();
  const double step = 1e-6;
  for (size_t m = 0; m < 3; ++m) {
    std::vector<double> analytic = host(inputs[m].grad()), values = host(branches[m]);
    for (size_t i = 0; i < values.size(); ++i) {
      auto at = [&](double delta) {
        std::vector<Tensor> z = branches;
        std::vector<double> shifted = values;
        shifted[i] += delta;
        z[m] = Tensor::from_vector(shifted, {batch, classes});
        NoGradGuard no_grad;
        return evaluate(z).total.item();
      };
      const double numeric = (at(step) - at(-step)) / (2 * step);
      INFO("branch " << m << " element " << i);
      CHECK(analytic[i] == Approx(numeric).margin(1e-7).epsilon(1e-6));
    }
  }
}

TEST_CASE("a very confident branch leaves the ensemble loss finite", "[ensemble]") {
  // Logit gaps of hundreds underflow softmax at T = 3; the log-softmax form keeps every term finite.
  NeXtVladOutput out;
  out.logits = Tensor::from_vector(std::vector<float>{400, -400, 0, 0}, {2, 2});
  out.branch_logits = {Tensor::from_vector(std::vector<float>{-400, 400, 0, 1}, {2, 2}), out.logits};
  EnsembleLosses losses = ensemble_losses(out, Tensor::zeros({2, 2}), {});
  CHECK(std::isfinite(losses.total.item()));
  CHECK(losses.kl > 100);  // the first branch contradicts the mixture
}

}  // namespace ff::models
