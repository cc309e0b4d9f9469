// One NetVLAD layer, the paper's other cluster-aggregation teacher (shared/reference/paper-and-nextvlad.md
// §6.2, after Miech et al.'s gated NetVLAD): cluster logits from the frame features by an FC without bias,
// batch norm, softmax over K, residuals to learned centres summed over the real frames, intra (per-cluster)
// L2 normalisation, then a global L2 normalisation. No expansion, no groups, no output batch norm. The
// model holds one for rgb (K clusters) and one for audio (K/2), as for NeXtVLAD.
#pragma once
#include <cstdint>
#include <string>

#include "engine/ops.h"
#include "engine/tensor.h"
#include "models/aggregation_block.h"
#include "models/layers.h"

namespace ff {

struct NetVladBlockShape {
  int64_t feature_size = 0;  // N
  int64_t cluster_size = 0;  // K
  int64_t output_size() const { return feature_size * cluster_size; }
  int64_t parameter_count() const;  // trainable elements, BN gamma/beta included
};

class NetVladBlock : public AggregationBlock {
 public:
  // Registers the block's parameters under `prefix` ("video_vlad") and initialises them.
  NetVladBlock(const std::string& prefix, const NetVladBlockShape& shape, ModelInit& init);

  // frames [B, M, N]; frame_mask [B, M]. Returns [B, N*K] with feature index d*K + k (d-major, k-minor, as
  // the NeXtVLAD block), of unit L2 norm per video (zero for a video without frames).
  Tensor forward(const Tensor& frames, const Tensor& frame_mask, bool training, bool bn_excludes_padding,
                 const BatchNormOptions& bn_options) const override;
  int64_t output_size() const override { return shape_.output_size(); }

  const NetVladBlockShape& shape() const { return shape_; }

 private:
  NetVladBlockShape shape_;
  std::string prefix_;
  Tensor cluster_weights_;     // [N, K] (the TF layout, as NeXtVLAD's cluster weights)
  BatchNormLayer cluster_bn_;  // over K channels
  Tensor centres_;             // "cluster_weights2" [N, K]: the anchors c_k
};

}  // namespace ff
