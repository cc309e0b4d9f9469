// One NeXtVLAD layer (shared/reference/paper-and-nextvlad.md §2.1): expansion, group attention, soft
// assignment to K clusters per group, residual aggregation over frames and groups, intra-normalisation
// and batch norm. The model holds one for rgb (K, G) and one for audio (K/2, G/2).
#pragma once
#include <cstdint>
#include <string>

#include "engine/ops.h"
#include "engine/tensor.h"
#include "models/layers.h"

namespace ff {

struct NeXtVladBlockShape {
  int64_t feature_size = 0;  // N
  int64_t cluster_size = 0;  // K
  int64_t groups = 0;        // G
  int64_t expansion = 0;     // lambda
  int64_t expanded_size() const { return expansion * feature_size; }  // lambda*N
  int64_t group_size() const { return expanded_size() / groups; }      // D_g
  int64_t output_size() const { return cluster_size * group_size(); }  // K*D_g
  int64_t parameter_count() const;  // trainable elements, BN gamma/beta included
};

// How forward computes steps 3-7: the fused ops (nextvlad_assignment, nextvlad_aggregation; the default)
// or the composition of generic ops that follows the TF code step by step and serves as their reference.
// Both use the same parameters, so checkpoints do not depend on the path.
enum class NeXtVladPath { Fused, Composed };

class NeXtVladBlock {
 public:
  // Registers the block's parameters under `prefix` ("video_vlad") and initialises them.
  NeXtVladBlock(const std::string& prefix, const NeXtVladBlockShape& shape, ModelInit& init);

  // frames [B, M, N]; frame_mask [B, M] (1 for real frames, 0 for padding), same dtype and device.
  // Returns [B, K*D_g] with feature index d*K + k (d-major, k-minor). With `bn_excludes_padding` the
  // cluster batch norm takes its statistics over the real frames only.
  Tensor forward(const Tensor& frames, const Tensor& frame_mask, bool training, bool bn_excludes_padding,
                 const BatchNormOptions& bn_options) const;

  const NeXtVladBlockShape& shape() const { return shape_; }
  void set_path(NeXtVladPath path) { path_ = path; }
  NeXtVladPath path() const { return path_; }

 private:
  // Steps 3-7 from the expanded features [B*M, lambda*N] and the attention logits [B*M, G], both ways.
  Tensor aggregate_fused(const Tensor& expanded, const Tensor& attention_logits, const Tensor& row_mask,
                         int64_t batch, int64_t length, bool training, bool bn_excludes_padding,
                         const BatchNormOptions& bn_options) const;
  Tensor aggregate_composed(const Tensor& expanded, const Tensor& attention_logits, const Tensor& row_mask,
                            int64_t batch, int64_t length, bool training, bool bn_excludes_padding,
                            const BatchNormOptions& bn_options) const;

  NeXtVladBlockShape shape_;
  std::string prefix_;
  NeXtVladPath path_ = NeXtVladPath::Fused;
  Tensor expansion_weight_, expansion_bias_;  // [lambda*N, N], [lambda*N]
  Tensor attention_weight_, attention_bias_;  // [G, lambda*N], [G]
  Tensor cluster_weights_;                    // [lambda*N, G*K] (the TF layout: no ".weight", no transpose)
  BatchNormLayer cluster_bn_;                 // over G*K channels
  Tensor centres_;                            // "cluster_weights2" [D_g, K]: the anchors c_k
  BatchNormLayer vlad_bn_;                    // over K*D_g channels
};

}  // namespace ff
