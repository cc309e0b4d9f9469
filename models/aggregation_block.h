// The frame-aggregation stage of the video classifier, one per modality: a NeXtVLAD block (the default) or
// a NetVLAD block (shared/reference/paper-and-nextvlad.md §6.2), chosen by NeXtVladConfig::aggregation.
// The model and the parameter count see only this interface, so the two blocks stay independent files.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "engine/ops.h"
#include "engine/tensor.h"
#include "models/layers.h"
#include "models/nextvlad_config.h"

namespace ff {

class AggregationBlock {
 public:
  virtual ~AggregationBlock() = default;
  // frames [B, M, N]; frame_mask [B, M] (1 for real frames, 0 for padding), same dtype and device.
  // Returns the video encoding [B, output_size()]. With `bn_excludes_padding` the cluster batch norm takes
  // its statistics over the real frames only.
  virtual Tensor forward(const Tensor& frames, const Tensor& frame_mask, bool training, bool bn_excludes_padding,
                         const BatchNormOptions& bn_options) const = 0;
  virtual int64_t output_size() const = 0;
};

enum class Modality { Video, Audio };

// The block of one modality as the config describes it: rgb ("video_vlad") with K clusters (and G groups
// for NeXtVLAD), audio ("audio_vlad") with K/2 (and G/2). Registers and initialises its parameters.
std::unique_ptr<AggregationBlock> make_aggregation_block(const NeXtVladConfig& config, Modality modality,
                                                         ModelInit& init);

// The same block's output size and trainable elements, from the shapes alone.
int64_t aggregation_output_size(const NeXtVladConfig& config, Modality modality);
int64_t aggregation_parameter_count(const NeXtVladConfig& config, Modality modality);

}  // namespace ff
