// Forward FLOPs of the NeXtVLAD model from its shapes (shared/reference/performance-and-style.md §2.3;
// 1 multiply-add = 2 FLOP). Frame-level work scales with the frames a model reads (all of them for the
// teacher, k for a student); video-level work (hidden FC, gating, classifier) is paid once per video. The
// elementwise work (batch norm, softmax, attention multiply, L2 norm: under 0.2%) is left out. An ensemble
// of M branches costs M times one branch, plus its gate.
#pragma once
#include <cstdint>

#include "models/nextvlad_config.h"

namespace ff {

struct NeXtVladCost {
  double frame_flops_per_frame = 0;  // rgb + audio blocks: expansion, attention, cluster logits, aggregation
  double video_flops = 0;            // hidden FC, SE gating, classifier
  double frame_flops(double frames) const { return frame_flops_per_frame * frames; }
  double forward_flops(double frames) const { return frame_flops(frames) + video_flops; }
};

NeXtVladCost nextvlad_cost(const NeXtVladConfig& config);

}  // namespace ff
