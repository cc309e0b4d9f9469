#include "models/nextvlad_cost.h"

#include "models/nextvlad_block.h"

namespace ff {
namespace {

// Multiply-adds per frame of one block: the expansion FC (N -> lambda*N), the group attention
// (lambda*N -> G), the cluster logits (lambda*N -> G*K, the original's layout: every group's logits read
// the whole expanded frame) and the aggregation (per group, K x D_g products of the assignment with the
// frame's group slice).
double block_macs_per_frame(const NeXtVladBlockShape& s) {
  const double expanded = double(s.expanded_size());
  return double(s.feature_size) * expanded + expanded * double(s.groups) +
         expanded * double(s.groups * s.cluster_size) + double(s.cluster_size) * expanded;
}

}  // namespace

NeXtVladCost nextvlad_cost(const NeXtVladConfig& c) {
  validate(c);
  const NeXtVladBlockShape video{c.rgb_feature_size, c.cluster_size, c.groups, c.expansion};
  const NeXtVladBlockShape audio{c.audio_feature_size, c.cluster_size / 2, c.groups / 2, c.expansion};
  const double encoding = double(video.output_size() + audio.output_size());
  const double hidden = double(c.hidden_size), squeezed = double(c.hidden_size / c.gating_reduction);
  NeXtVladCost cost;
  cost.frame_flops_per_frame = 2 * (block_macs_per_frame(video) + block_macs_per_frame(audio));
  cost.video_flops = 2 * (encoding * hidden + 2 * hidden * squeezed + hidden * double(c.num_classes));
  // An ensemble pays every branch in full, plus its gate's FC on the frame mean (M x N MACs per video).
  const double m = double(c.ensemble_size);
  cost.frame_flops_per_frame *= m;
  cost.video_flops *= m;
  if (c.ensemble_size > 1) cost.video_flops += 2 * m * double(c.rgb_feature_size + c.audio_feature_size);
  return cost;
}

}  // namespace ff
