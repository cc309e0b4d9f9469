// The smallest model the unit tests build: the golden test's "tiny" sizes (rgb 6, audio 4, K 4, G 2,
// lambda 2, H 8, r 2, 5 classes, at most 5 frames), no dropout. Each suite changes what it is about
// (the classifier, the aggregation, the ensemble size).
#pragma once
#include "models/nextvlad_config.h"

namespace ff::test {

inline NeXtVladConfig tiny_model_config() {
  NeXtVladConfig c;
  c.rgb_feature_size = 6;
  c.audio_feature_size = 4;
  c.max_frames = 5;
  c.cluster_size = 4;  // audio: 2
  c.groups = 2;        // audio: 1
  c.expansion = 2;
  c.hidden_size = 8;
  c.gating_reduction = 2;
  c.num_classes = 5;
  c.dropout_rate = 0.0;
  return c;
}

}  // namespace ff::test
