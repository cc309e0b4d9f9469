#include "models/nextvlad_config.h"

#include <stdexcept>

#include "models/layers.h"
#include "models/nextvlad_block.h"

namespace ff {
namespace {

void require(bool condition, const std::string& message) {
  if (!condition) throw std::invalid_argument("NeXtVLAD config: " + message);
}

}  // namespace

void validate(const NeXtVladConfig& c) {
  require(c.rgb_feature_size > 0 && c.audio_feature_size > 0, "feature sizes must be positive");
  require(c.max_frames > 0, "max_frames must be positive");
  require(c.cluster_size >= 2 && c.cluster_size % 2 == 0,
          "cluster_size must be even (the audio block uses cluster_size/2), got " + std::to_string(c.cluster_size));
  require(c.groups >= 2 && c.groups % 2 == 0,
          "groups must be even (the audio block uses groups/2), got " + std::to_string(c.groups));
  require(c.expansion > 0, "expansion must be positive");
  require((c.expansion * c.rgb_feature_size) % c.groups == 0, "groups must divide expansion * rgb_feature_size");
  require((c.expansion * c.audio_feature_size) % (c.groups / 2) == 0,
          "groups/2 must divide expansion * audio_feature_size");
  require(c.hidden_size > 0 && c.gating_reduction > 0 && c.hidden_size % c.gating_reduction == 0,
          "gating_reduction must divide hidden_size");
  require(c.dropout_rate >= 0 && c.dropout_rate < 1, "dropout_rate must lie in [0, 1)");
  require(c.num_classes > 0, "num_classes must be positive");
  require(c.classifier == "logistic", "classifier '" + c.classifier + "' is not implemented (only 'logistic')");
  require(c.bn_momentum >= 0 && c.bn_momentum <= 1 && c.bn_epsilon > 0, "bn momentum/epsilon out of range");
}

int64_t parameter_count(const NeXtVladConfig& c) {
  validate(c);
  NeXtVladBlockShape video{c.rgb_feature_size, c.cluster_size, c.groups, c.expansion};
  NeXtVladBlockShape audio{c.audio_feature_size, c.cluster_size / 2, c.groups / 2, c.expansion};
  const int64_t encoding = video.output_size() + audio.output_size();
  const int64_t h = c.hidden_size, squeezed = c.hidden_size / c.gating_reduction;
  return video.parameter_count() + audio.parameter_count()  //
         + encoding * h + BatchNormLayer::parameter_count(h)  // hidden FC (no bias) + hidden_bn
         + h * squeezed + BatchNormLayer::parameter_count(squeezed) + squeezed * h  // SE gating
         + h * c.num_classes + c.num_classes;  // logistic classifier
}

}  // namespace ff
