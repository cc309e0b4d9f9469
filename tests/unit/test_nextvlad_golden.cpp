// Golden test of the whole NeXtVLAD model: forward outputs, losses, batch-norm running statistics and
// every gradient against the PyTorch reference (bench/reference/nextvlad_torch.py) on the same weights and
// inputs, stored in tests/data/nextvlad_golden.safetensors by bench/reference/make_nextvlad_golden.py
// (docs/golden_test.md). The engine runs in float32 on the CPU; each tensor must agree normwise,
// ||engine - reference|| / ||reference|| < 1e-4.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "engine/safetensors.h"
#include "models/distillation_losses.h"
#include "models/ensemble_loss.h"
#include "models/nextvlad.h"

namespace ff {
namespace {

constexpr double kTolerance = 1e-4;
const char* const kGoldenPath = FF_SOURCE_DIR "/tests/data/nextvlad_golden.safetensors";

class GoldenFile {
 public:
  explicit GoldenFile(const std::string& path) : contents_(read_safetensors(path)) {
    for (auto& [name, tensor] : contents_.tensors) by_name_[name] = tensor;
  }
  const Tensor& tensor(const std::string& name) const {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) throw std::runtime_error(std::string(kGoldenPath) + ": no tensor \"" + name + "\"");
    return it->second;
  }
  bool has(const std::string& name) const { return by_name_.count(name) != 0; }
  const std::string& metadata(const std::string& key) const {
    auto it = contents_.metadata.find(key);
    if (it == contents_.metadata.end())
      throw std::runtime_error(std::string(kGoldenPath) + ": no metadata \"" + key + "\"");
    return it->second;
  }
  const NamedTensors& tensors() const { return contents_.tensors; }

 private:
  SafetensorsContents contents_;
  std::map<std::string, Tensor> by_name_;
};

NeXtVladConfig config_of(const GoldenFile& golden, const std::string& c) {
  auto integer = [&](const char* field) { return std::stoll(golden.metadata(c + "." + field)); };
  auto real = [&](const char* field) { return std::stod(golden.metadata(c + "." + field)); };
  NeXtVladConfig config;
  config.rgb_feature_size = integer("rgb_feature_size");
  config.audio_feature_size = integer("audio_feature_size");
  config.max_frames = integer("max_frames");
  config.cluster_size = integer("cluster_size");
  config.groups = integer("groups");
  config.expansion = integer("expansion");
  config.hidden_size = integer("hidden_size");
  config.gating_reduction = integer("gating_reduction");
  config.num_classes = integer("num_classes");
  config.bn_momentum = real("bn_momentum");
  config.bn_epsilon = real("bn_epsilon");
  config.bn_excludes_padding = integer("bn_excludes_padding") != 0;
  config.dropout_rate = real("dropout_rate");
  config.aggregation = golden.metadata(c + ".aggregation");
  config.classifier = golden.metadata(c + ".classifier");
  config.moe_mixtures = integer("moe_mixtures");
  config.ensemble_size = integer("ensemble_size");
  return config;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, ',');) parts.push_back(part);
  return parts;
}

// ||actual - expected|| / ||expected|| in double (the absolute difference when the reference is zero).
double normwise_error(const Tensor& actual, const Tensor& expected) {
  std::vector<double> a = actual.to(DType::Float64).to_vector<double>();
  std::vector<double> e = expected.to(DType::Float64).to_vector<double>();
  if (a.size() != e.size()) return INFINITY;
  double difference = 0, reference = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    difference += (a[i] - e[i]) * (a[i] - e[i]);
    reference += e[i] * e[i];
  }
  const double error = std::sqrt(difference) / (reference > 0 ? std::sqrt(reference) : 1.0);
  return std::isnan(error) ? INFINITY : error;
}

struct Comparison {
  std::string name;
  double error;
};

models::PredictionLoss prediction_kind_of(const std::string& loss_name) {
  // "prediction.<kind>.T<temperature>"
  const size_t first = loss_name.find('.'), last = loss_name.rfind('.');
  return models::parse_prediction_loss(loss_name.substr(first + 1, last - first - 1));
}
double temperature_of(const std::string& loss_name) { return std::stod(loss_name.substr(loss_name.rfind(".T") + 2)); }

struct CaseResult {
  std::vector<Comparison> comparisons;
  size_t parameters = 0;  // trainable tensors and buffers of the model
};

// Runs one golden case through the engine and returns the error of every compared tensor.
CaseResult run_case(const GoldenFile& golden, const std::string& c) {
  const std::string prefix = c + ":";
  const NeXtVladConfig config = config_of(golden, c);
  auto real = [&](const char* field) { return std::stod(golden.metadata(c + "." + field)); };
  Generator init(1);
  NeXtVladModel model(config, init, DType::Float32);

  // Every parameter and buffer comes from the file, and the file holds no parameter the model lacks.
  size_t loaded = 0;
  for (Parameter& p : model.parameters().all()) {
    const Tensor& value = golden.tensor(prefix + "param." + p.name);
    if (value.shape() != p.value.shape())
      throw std::runtime_error(p.name + ": golden shape " + value.str() + " vs model " + p.value.str());
    p.value.copy_from(value);
    ++loaded;
  }
  size_t stored = 0;
  for (auto& [name, tensor] : golden.tensors())
    if (name.rfind(prefix + "param.", 0) == 0) ++stored;
  REQUIRE(loaded == stored);

  Tensor rgb = golden.tensor(prefix + "input.frames_rgb").clone();
  Tensor audio = golden.tensor(prefix + "input.frames_audio").clone();
  rgb.set_requires_grad();
  audio.set_requires_grad();
  const std::vector<int32_t> frame_counts = golden.tensor(prefix + "input.frame_counts").to_vector<int32_t>();
  const Tensor& labels = golden.tensor(prefix + "input.labels");
  const Tensor& teacher_encoding = golden.tensor(prefix + "input.teacher_encoding");
  const Tensor& teacher_logits = golden.tensor(prefix + "input.teacher_logits");

  Generator dropout_generator(2);
  NeXtVladOutput out = model.forward(rgb, audio, frame_counts, /*training=*/true, dropout_generator);

  std::vector<Comparison> results;
  auto compare = [&](const std::string& name, const Tensor& actual) {
    results.push_back({prefix + name, normwise_error(actual, golden.tensor(prefix + name))});
  };
  compare("output.logits", out.logits);
  compare("output.encoding", out.encoding);
  compare("output.hidden", out.hidden);

  std::map<std::string, Tensor> losses;
  losses["label"] = models::label_loss(out.logits, labels);
  losses["representation"] = models::representation_loss(teacher_encoding, out.encoding);
  size_t prediction_losses = 0;
  for (auto& [name, tensor] : golden.tensors()) {
    const std::string stem = prefix + "loss.prediction.";
    if (name.rfind(stem, 0) != 0) continue;
    const std::string loss_name = name.substr(prefix.size() + 5);
    losses[loss_name] = models::prediction_loss(teacher_logits, out.logits, prediction_kind_of(loss_name),
                                                temperature_of(loss_name));
    ++prediction_losses;
  }
  REQUIRE(prediction_losses == 6);  // three kinds at T = 1 and T = 2
  for (auto& [name, value] : losses) compare("loss." + name, reshape(value, {1}));

  const std::string trained = golden.metadata("trained_prediction_loss");
  REQUIRE(losses.count(trained) == 1);
  Tensor objective = add(add(losses["label"], losses["representation"]), losses[trained]);
  if (config.ensemble_size > 1) {
    // The parts of the mixture, and the on-the-fly distillation added to the objective.
    for (size_t m = 0; m < out.branch_logits.size(); ++m)
      compare("output.branch_logits." + std::to_string(m), out.branch_logits[m]);
    compare("output.mixture_weights", out.mixture_weights);
    const models::EnsembleLossOptions options{real("ensemble_kl_weight"), real("ensemble_temperature")};
    models::EnsembleLosses ensemble = models::ensemble_losses(out, labels, options);
    compare("loss.ensemble", reshape(ensemble.total, {1}));
    compare("loss.ensemble_label", Tensor::from_vector(std::vector<double>{ensemble.branch_label}, {1}));
    compare("loss.ensemble_kl", Tensor::from_vector(std::vector<double>{ensemble.kl}, {1}));
    objective = add(objective, ensemble.total);
  }
  objective.backward();

  for (const Parameter& p : model.parameters().all()) {
    if (p.trainable) {
      REQUIRE(p.value.grad().defined());
      compare("grad." + p.name, p.value.grad());
    } else {
      compare("running." + p.name, p.value);  // updated in place by the training-mode forward pass
    }
  }
  compare("grad.input.frames_rgb", rgb.grad());
  compare("grad.input.frames_audio", audio.grad());
  return {results, loaded};
}

}  // namespace

TEST_CASE("NeXtVLAD outputs, losses and gradients match the PyTorch reference", "[golden][nextvlad]") {
  const GoldenFile golden(kGoldenPath);
  std::vector<std::string> cases = split_commas(golden.metadata("cases"));
  REQUIRE(cases == std::vector<std::string>{"tiny", "medium", "moe", "netvlad"});
  REQUIRE(golden.metadata("ensemble_cases") == "mix");
  cases.push_back("mix");
  for (const std::string& c : cases) {
    CaseResult result = run_case(golden, c);
    const std::vector<Comparison>& results = result.comparisons;
    // Every parameter and BN buffer, 3 outputs, 8 losses, 2 input gradients. Logistic NeXtVLAD: 29 + 12
    // parameters; MoE adds 2 (gate and experts instead of one FC); NetVLAD blocks have 4 + 2 instead of 10 + 4.
    // The ensemble of three logistic branches adds its gate (4 + 2) and compares 3 branch logits, the
    // mixture weights and 3 ensemble losses.
    const size_t parameters =
        c == "moe" ? 31 + 12 : c == "netvlad" ? 17 + 8 : c == "mix" ? 3 * (29 + 12) + 4 + 2 : 29 + 12;
    const size_t ensemble_comparisons = c == "mix" ? 3 + 1 + 3 : 0;
    CHECK(result.parameters == parameters);
    CHECK(results.size() == parameters + 3 + 8 + 2 + ensemble_comparisons);
    auto worst = std::max_element(results.begin(), results.end(),
                                  [](const Comparison& a, const Comparison& b) { return a.error < b.error; });
    INFO("case " << c << ": worst normwise relative error " << worst->error << " in " << worst->name);
    for (const Comparison& r : results) {
      INFO(r.name << ": " << r.error);
      CHECK(r.error < kTolerance);
    }
    WARN("golden case " << c << ": worst normwise relative error " << worst->error << " (" << worst->name << ")");
  }
}

}  // namespace ff
