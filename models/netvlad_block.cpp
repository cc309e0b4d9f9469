#include "models/netvlad_block.h"

#include <cmath>
#include <stdexcept>

namespace ff {

int64_t NetVladBlockShape::parameter_count() const {
  const int64_t n = feature_size, k = cluster_size;
  return n * k                                  // cluster weights
         + BatchNormLayer::parameter_count(k)   // cluster_bn
         + n * k;                               // centres
}

NetVladBlock::NetVladBlock(const std::string& prefix, const NetVladBlockShape& shape, ModelInit& init)
    : shape_(shape), prefix_(prefix) {
  const int64_t n = shape.feature_size, k = shape.cluster_size;
  if (n <= 0 || k <= 0)
    throw std::invalid_argument(prefix + ": invalid NetVLAD shape (N=" + std::to_string(n) + ", K=" +
                                std::to_string(k) + ")");
  // The WILLOW code draws both from N(0, 1/N) (random_normal_initializer with stddev 1/sqrt(feature_size)).
  const double stddev = 1.0 / std::sqrt(double(n));
  cluster_weights_ = init.add(
      prefix + ".cluster_weights", Tensor::normal({n, k}, 0.0, stddev, init.generator, init.dtype, init.device));
  cluster_bn_ = BatchNormLayer(prefix + ".cluster_bn", k, init);
  centres_ = init.add(
      prefix + ".cluster_weights2", Tensor::normal({n, k}, 0.0, stddev, init.generator, init.dtype, init.device));
}

Tensor NetVladBlock::forward(const Tensor& frames, const Tensor& frame_mask, bool training, bool bn_excludes_padding,
                             const BatchNormOptions& bn_options) const {
  if (frames.dim() != 3 || frames.size(2) != shape_.feature_size)
    throw std::invalid_argument(prefix_ + ": frames " + frames.str() + " must be [batch, frames, " +
                                std::to_string(shape_.feature_size) + "]");
  const int64_t batch = frames.size(0), length = frames.size(1);
  if (frame_mask.shape() != Shape{batch, length})
    throw std::invalid_argument(prefix_ + ": frame mask " + frame_mask.str() + " does not match frames " +
                                frames.str());
  const int64_t n = shape_.feature_size, k = shape_.cluster_size, rows = batch * length;

  // 1. Soft assignment: logits [B*M, K], batch norm over the frame rows, softmax over K.
  Tensor row_mask = reshape(frame_mask, {rows});
  Tensor logits = matmul(reshape(frames, {rows, n}), cluster_weights_);
  logits = cluster_bn_.forward(logits, training, bn_options, bn_excludes_padding ? row_mask : Tensor());
  // 2. Zero on padded frames, so they add neither residuals nor centre weight (WILLOW samples real frames
  //    instead of masking).
  Tensor assignment = reshape(mul(softmax(logits), reshape(frame_mask, {rows, 1})), {batch, length, k});
  // 3. Residuals: sum_i a_ik (x_i - c_k) = (a^T x)^T - (sum_i a_ik) c_k, [B, N, K].
  Tensor centre_term = mul(sum(assignment, {1}, true), centres_);  // [B, 1, K] * [N, K]
  Tensor vlad = sub(transpose(matmul(assignment, frames, true, false), 1, 2), centre_term);
  // 4. Intra-normalisation (each cluster's N-vector), flatten d-major, k-minor, then the global L2.
  vlad = l2_normalize(vlad, 1);
  return l2_normalize(reshape(vlad, {batch, n * k}), 1);
}

}  // namespace ff
