#include "models/nextvlad_block.h"

#include <stdexcept>

namespace ff {

int64_t NeXtVladBlockShape::parameter_count() const {
  int64_t n = feature_size, e = expanded_size(), g = groups, k = cluster_size;
  return e * n + e                                      // expansion FC with bias
         + g * e + g                                    // group attention FC with bias
         + e * g * k                                    // cluster weights
         + BatchNormLayer::parameter_count(g * k)       // cluster_bn
         + group_size() * k                             // centres
         + BatchNormLayer::parameter_count(output_size());  // vlad_bn
}

NeXtVladBlock::NeXtVladBlock(const std::string& prefix, const NeXtVladBlockShape& shape, ModelInit& init)
    : shape_(shape), prefix_(prefix) {
  int64_t n = shape.feature_size, e = shape.expanded_size(), g = shape.groups, k = shape.cluster_size;
  if (n <= 0 || k <= 0 || g <= 0 || shape.expansion <= 0 || e % g != 0)
    throw std::invalid_argument(prefix + ": invalid NeXtVLAD shape (N=" + std::to_string(n) + ", K=" +
                                std::to_string(k) + ", G=" + std::to_string(g) + ", lambda=" +
                                std::to_string(shape.expansion) + "); G must divide lambda*N");
  expansion_weight_ = init.he_normal(prefix + ".expansion.weight", {e, n}, n);
  expansion_bias_ = init.zeros(prefix + ".expansion.bias", {e});
  attention_weight_ = init.he_normal(prefix + ".attention.weight", {g, e}, e);
  attention_bias_ = init.zeros(prefix + ".attention.bias", {g});
  cluster_weights_ = init.he_normal(prefix + ".cluster_weights", {e, g * k}, e);
  cluster_bn_ = BatchNormLayer(prefix + ".cluster_bn", g * k, init);
  centres_ = init.he_normal(prefix + ".cluster_weights2", {shape.group_size(), k}, shape.group_size());
  vlad_bn_ = BatchNormLayer(prefix + ".vlad_bn", shape.output_size(), init);
}

Tensor NeXtVladBlock::forward(const Tensor& frames, const Tensor& frame_mask, bool training,
                              bool bn_excludes_padding, const BatchNormOptions& bn_options) const {
  if (frames.dim() != 3 || frames.size(2) != shape_.feature_size)
    throw std::invalid_argument(prefix_ + ": frames " + frames.str() + " must be [batch, frames, " +
                                std::to_string(shape_.feature_size) + "]");
  const int64_t batch = frames.size(0), length = frames.size(1);
  if (frame_mask.shape() != Shape{batch, length})
    throw std::invalid_argument(prefix_ + ": frame mask " + frame_mask.str() + " does not match frames " +
                                frames.str());
  const int64_t rows = batch * length;

  // 1. Expansion: [B*M, N] -> [B*M, lambda*N].
  Tensor expanded = bias_add(linear(reshape(frames, {rows, shape_.feature_size}), expansion_weight_), expansion_bias_);
  // 2. Group attention logits [B*M, G] (the sigmoid and the frame mask come with the assignment).
  Tensor attention_logits = bias_add(linear(expanded, attention_weight_), attention_bias_);
  Tensor row_mask = reshape(frame_mask, {rows});
  Tensor vlad = path_ == NeXtVladPath::Fused
                    ? aggregate_fused(expanded, attention_logits, row_mask, batch, length, training,
                                      bn_excludes_padding, bn_options)
                    : aggregate_composed(expanded, attention_logits, row_mask, batch, length, training,
                                         bn_excludes_padding, bn_options);
  // 8. Flatten (d-major, k-minor) and batch norm over the videos.
  return vlad_bn_.forward(reshape(vlad, {batch, shape_.output_size()}), training, bn_options);
}

Tensor NeXtVladBlock::aggregate_fused(const Tensor& expanded, const Tensor& attention_logits, const Tensor& row_mask,
                                      int64_t batch, int64_t length, bool training, bool bn_excludes_padding,
                                      const BatchNormOptions& bn_options) const {
  const int64_t g = shape_.groups, k = shape_.cluster_size, dg = shape_.group_size();
  // 3-4. Cluster logits [B*M, G*K], then batch norm, softmax over K, attention and mask in one op.
  Tensor activation = nextvlad_assignment(matmul(expanded, cluster_weights_), attention_logits, row_mask,
                                          cluster_bn_.weight(), cluster_bn_.bias(), cluster_bn_.running_mean(),
                                          cluster_bn_.running_var(), training, bn_excludes_padding, bn_options);
  // 5-7. Residual aggregation against the centres and intra-normalisation: [B, D_g, K].
  return nextvlad_aggregation(reshape(activation, {batch, length * g, k}), reshape(expanded, {batch, length * g, dg}),
                              centres_);
}

Tensor NeXtVladBlock::aggregate_composed(const Tensor& expanded, const Tensor& attention_logits,
                                         const Tensor& row_mask, int64_t batch, int64_t length, bool training,
                                         bool bn_excludes_padding, const BatchNormOptions& bn_options) const {
  const int64_t g = shape_.groups, k = shape_.cluster_size, dg = shape_.group_size();
  const int64_t rows = batch * length;
  // 2. Group attention, zero on padded frames: [B*M, G] -> [B, M*G, 1] (row i*G+g is frame i, group g).
  Tensor attention = mul(sigmoid(attention_logits), reshape(row_mask, {rows, 1}));
  attention = reshape(attention, {batch, length * g, 1});
  // 3. Soft assignment: logits [B*M, G*K], batch norm over the frame rows, softmax over K.
  Tensor logits = matmul(expanded, cluster_weights_);
  logits = cluster_bn_.forward(logits, training, bn_options, bn_excludes_padding ? row_mask : Tensor());
  Tensor assignment = softmax(reshape(logits, {batch, length * g, k}));
  // 4. Weighting by the group attention.
  Tensor activation = mul(assignment, attention);  // [B, M*G, K]
  // 5. Cluster-centre term a = a_sum * C: [B, 1, K] * [D_g, K] -> [B, D_g, K].
  Tensor centre_term = mul(sum(activation, {1}, true), centres_);
  // 6. Residual aggregation: act^T x~ = [B, K, D_g] -> [B, D_g, K], minus the centre term.
  Tensor grouped = reshape(expanded, {batch, length * g, dg});
  Tensor vlad = sub(transpose(matmul(activation, grouped, true, false), 1, 2), centre_term);
  // 7. Intra-normalisation: each cluster's D_g-vector separately.
  return l2_normalize(vlad, 1);
}

}  // namespace ff
