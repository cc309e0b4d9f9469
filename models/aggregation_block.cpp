#include "models/aggregation_block.h"

#include <stdexcept>

#include "models/netvlad_block.h"
#include "models/nextvlad_block.h"

namespace ff {
namespace {

// NeXtVladBlock keeps its own interface; this holds one and answers for it.
class NeXtVladAggregation : public AggregationBlock {
 public:
  NeXtVladAggregation(const std::string& prefix, const NeXtVladBlockShape& shape, ModelInit& init)
      : block_(prefix, shape, init) {}
  Tensor forward(const Tensor& frames, const Tensor& frame_mask, bool training, bool bn_excludes_padding,
                 const BatchNormOptions& bn_options) const override {
    return block_.forward(frames, frame_mask, training, bn_excludes_padding, bn_options);
  }
  int64_t output_size() const override { return block_.shape().output_size(); }

 private:
  NeXtVladBlock block_;
};

const char* prefix_of(Modality modality) { return modality == Modality::Video ? "video_vlad" : "audio_vlad"; }

bool is_netvlad(const NeXtVladConfig& config) {
  if (config.aggregation == "netvlad") return true;
  if (config.aggregation == "nextvlad") return false;
  throw std::invalid_argument("NeXtVLAD config: aggregation '" + config.aggregation +
                              "' is unknown (nextvlad or netvlad)");
}

NeXtVladBlockShape nextvlad_shape(const NeXtVladConfig& c, Modality modality) {
  if (modality == Modality::Video) return {c.rgb_feature_size, c.cluster_size, c.groups, c.expansion};
  return {c.audio_feature_size, c.cluster_size / 2, c.groups / 2, c.expansion};
}

NetVladBlockShape netvlad_shape(const NeXtVladConfig& c, Modality modality) {
  if (modality == Modality::Video) return {c.rgb_feature_size, c.cluster_size};
  return {c.audio_feature_size, c.cluster_size / 2};
}

}  // namespace

std::unique_ptr<AggregationBlock> make_aggregation_block(const NeXtVladConfig& config, Modality modality,
                                                         ModelInit& init) {
  if (is_netvlad(config)) return std::make_unique<NetVladBlock>(prefix_of(modality), netvlad_shape(config, modality), init);
  return std::make_unique<NeXtVladAggregation>(prefix_of(modality), nextvlad_shape(config, modality), init);
}

int64_t aggregation_output_size(const NeXtVladConfig& config, Modality modality) {
  return is_netvlad(config) ? netvlad_shape(config, modality).output_size()
                            : nextvlad_shape(config, modality).output_size();
}

int64_t aggregation_parameter_count(const NeXtVladConfig& config, Modality modality) {
  return is_netvlad(config) ? netvlad_shape(config, modality).parameter_count()
                            : nextvlad_shape(config, modality).parameter_count();
}

}  // namespace ff
