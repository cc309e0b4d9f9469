#include "models/nextvlad_config.h"

#include <stdexcept>

#include "models/aggregation_block.h"
#include "models/layers.h"
#include "models/moe_classifier.h"

namespace ff {
namespace {

void require(bool condition, const std::string& message) {
  if (!condition) throw std::invalid_argument("NeXtVLAD config: " + message);
}

}  // namespace

void validate(const NeXtVladConfig& c) {
  require(c.rgb_feature_size > 0 && c.audio_feature_size > 0, "feature sizes must be positive");
  require(c.max_frames > 0, "max_frames must be positive");
  require(c.aggregation == "nextvlad" || c.aggregation == "netvlad",
          "aggregation '" + c.aggregation + "' is unknown (nextvlad or netvlad)");
  require(c.cluster_size >= 2 && c.cluster_size % 2 == 0,
          "cluster_size must be even (the audio block uses cluster_size/2), got " + std::to_string(c.cluster_size));
  if (c.aggregation == "nextvlad") {
    require(c.groups >= 2 && c.groups % 2 == 0,
            "groups must be even (the audio block uses groups/2), got " + std::to_string(c.groups));
    require(c.expansion > 0, "expansion must be positive");
    require((c.expansion * c.rgb_feature_size) % c.groups == 0, "groups must divide expansion * rgb_feature_size");
    require((c.expansion * c.audio_feature_size) % (c.groups / 2) == 0,
            "groups/2 must divide expansion * audio_feature_size");
  }
  require(c.hidden_size > 0 && c.gating_reduction > 0 && c.hidden_size % c.gating_reduction == 0,
          "gating_reduction must divide hidden_size");
  require(c.dropout_rate >= 0 && c.dropout_rate < 1, "dropout_rate must lie in [0, 1)");
  require(c.num_classes > 0, "num_classes must be positive");
  require(c.classifier == "logistic" || c.classifier == "moe",
          "classifier '" + c.classifier + "' is unknown (logistic or moe)");
  require(c.moe_mixtures >= 1, "moe_mixtures must be at least 1, got " + std::to_string(c.moe_mixtures));
  require(c.bn_momentum >= 0 && c.bn_momentum <= 1 && c.bn_epsilon > 0, "bn momentum/epsilon out of range");
  require(c.ensemble_size >= 1 && c.ensemble_size <= kMaxEnsembleSize,
          "ensemble_size must lie in [1, " + std::to_string(kMaxEnsembleSize) + "], got " +
              std::to_string(c.ensemble_size));
}

int64_t parameter_count(const NeXtVladConfig& c) {
  validate(c);
  const int64_t encoding = aggregation_output_size(c, Modality::Video) + aggregation_output_size(c, Modality::Audio);
  const int64_t h = c.hidden_size, squeezed = c.hidden_size / c.gating_reduction;
  const int64_t classifier = c.classifier == "moe" ? MoeClassifier::parameter_count(h, c.num_classes, c.moe_mixtures)
                                                   : h * c.num_classes + c.num_classes;
  const int64_t branch =
      aggregation_parameter_count(c, Modality::Video) + aggregation_parameter_count(c, Modality::Audio)  //
      + encoding * h + BatchNormLayer::parameter_count(h)  // hidden FC (no bias) + hidden_bn
      + h * squeezed + BatchNormLayer::parameter_count(squeezed) + squeezed * h  // SE gating
      + classifier;
  if (c.ensemble_size == 1) return branch;
  const int64_t frame = c.rgb_feature_size + c.audio_feature_size, m = c.ensemble_size;
  return m * branch + BatchNormLayer::parameter_count(frame) + m * frame + m;  // the gate: BN, FC with bias
}

// One list of the fields, so writing and reading cannot drift apart.
template <typename Config, typename Visit>
void visit_fields(Config& c, Visit&& visit) {
  visit("rgb_feature_size", c.rgb_feature_size);
  visit("audio_feature_size", c.audio_feature_size);
  visit("max_frames", c.max_frames);
  visit("aggregation", c.aggregation);
  visit("cluster_size", c.cluster_size);
  visit("groups", c.groups);
  visit("expansion", c.expansion);
  visit("hidden_size", c.hidden_size);
  visit("gating_reduction", c.gating_reduction);
  visit("dropout_rate", c.dropout_rate);
  visit("num_classes", c.num_classes);
  visit("classifier", c.classifier);
  visit("moe_mixtures", c.moe_mixtures);
  visit("bn_momentum", c.bn_momentum);
  visit("bn_epsilon", c.bn_epsilon);
  visit("bn_excludes_padding", c.bn_excludes_padding);
  visit("ensemble_size", c.ensemble_size);
}

nlohmann::json to_json(const NeXtVladConfig& config) {
  nlohmann::json out = nlohmann::json::object();
  visit_fields(config, [&](const char* name, const auto& value) { out[name] = value; });
  return out;
}

NeXtVladConfig nextvlad_config_from_json(const nlohmann::json& json) {
  require(json.is_object(), "model config must be a JSON object");
  NeXtVladConfig config;
  size_t known = 0;
  visit_fields(config, [&](const char* name, auto& value) {
    auto it = json.find(name);
    if (it == json.end()) return;
    ++known;
    try {
      it->get_to(value);
    } catch (const nlohmann::json::exception&) {
      throw std::invalid_argument(std::string("NeXtVLAD config: field '") + name + "' has the wrong type: " + it->dump());
    }
  });
  if (known != json.size()) {
    for (const auto& [key, value] : json.items()) {
      bool found = false;
      visit_fields(config, [&](const char* name, const auto&) { found = found || key == name; });
      require(found, "unknown field '" + key + "'");
    }
  }
  return config;
}

}  // namespace ff
