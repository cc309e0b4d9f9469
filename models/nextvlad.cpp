#include "models/nextvlad.h"

#include <stdexcept>

namespace ff {

Tensor make_frame_mask(const std::vector<int32_t>& frame_counts, int64_t frames, DType dtype, Device device) {
  std::vector<float> mask(frame_counts.size() * size_t(frames), 0.0f);
  for (size_t b = 0; b < frame_counts.size(); ++b) {
    if (frame_counts[b] < 0 || frame_counts[b] > frames)
      throw std::invalid_argument("frame mask: video " + std::to_string(b) + " has " +
                                  std::to_string(frame_counts[b]) + " frames, outside [0, " +
                                  std::to_string(frames) + "]");
    for (int32_t i = 0; i < frame_counts[b]; ++i) mask[b * size_t(frames) + size_t(i)] = 1.0f;
  }
  Tensor host = Tensor::from_vector(mask, {int64_t(frame_counts.size()), frames});
  return host.to(dtype).to(device);
}

NeXtVladModel::NeXtVladModel(const NeXtVladConfig& config, Generator& generator, DType dtype, Device device)
    : config_(config), dtype_(dtype), device_(device) {
  validate(config_);
  bn_options_.momentum = config_.bn_momentum;
  bn_options_.epsilon = config_.bn_epsilon;
  ModelInit init{parameters_, generator, dtype, device};

  video_vlad_ = make_aggregation_block(config_, Modality::Video, init);
  audio_vlad_ = make_aggregation_block(config_, Modality::Audio, init);
  const int64_t encoding = video_vlad_->output_size() + audio_vlad_->output_size();
  const int64_t h = config_.hidden_size, squeezed = h / config_.gating_reduction, c = config_.num_classes;

  hidden_weight_ = init.glorot_uniform("hidden.weight", {h, encoding}, encoding, h);
  hidden_bn_ = BatchNormLayer("hidden_bn", h, init);
  gating_fc1_weight_ = init.glorot_uniform("gating.fc1.weight", {squeezed, h}, h, squeezed);
  gating_bn_ = BatchNormLayer("gating.bn", squeezed, init);
  gating_fc2_weight_ = init.glorot_uniform("gating.fc2.weight", {h, squeezed}, squeezed, h);
  if (config_.classifier == "moe") {
    moe_ = std::make_unique<MoeClassifier>("classifier", h, c, config_.moe_mixtures, init);
  } else {
    classifier_weight_ = init.glorot_uniform("classifier.weight", {c, h}, h, c, /*l2_regularized=*/true);
    classifier_bias_ = init.zeros("classifier.bias", {c}, /*l2_regularized=*/true);
  }
}

NeXtVladOutput NeXtVladModel::forward(const Tensor& frames_rgb, const Tensor& frames_audio,
                                      const std::vector<int32_t>& frame_counts, bool training,
                                      Generator& generator) const {
  if (frames_rgb.dim() != 3 || frames_audio.dim() != 3 || frames_rgb.size(0) != frames_audio.size(0) ||
      frames_rgb.size(1) != frames_audio.size(1))
    throw std::invalid_argument("NeXtVLAD: rgb frames " + frames_rgb.str() + " and audio frames " +
                                frames_audio.str() + " must be [batch, frames, dim] with equal batch and frames");
  const int64_t batch = frames_rgb.size(0), length = frames_rgb.size(1);
  if (int64_t(frame_counts.size()) != batch)
    throw std::invalid_argument("NeXtVLAD: " + std::to_string(frame_counts.size()) + " frame counts for a batch of " +
                                std::to_string(batch));
  if (length > config_.max_frames)
    throw std::invalid_argument("NeXtVLAD: " + std::to_string(length) + " frames exceed max_frames " +
                                std::to_string(config_.max_frames));
  if (frames_rgb.dtype() != dtype_ || frames_audio.dtype() != dtype_)
    throw std::invalid_argument("NeXtVLAD: frames " + frames_rgb.str() + ", " + frames_audio.str() +
                                " must have the model's dtype " + std::string(dtype_name(dtype_)));

  Tensor mask = make_frame_mask(frame_counts, length, dtype_, device_);
  NeXtVladOutput out;
  Tensor video = video_vlad_->forward(frames_rgb, mask, training, config_.bn_excludes_padding, bn_options_);
  Tensor audio = audio_vlad_->forward(frames_audio, mask, training, config_.bn_excludes_padding, bn_options_);
  out.encoding = concat({video, audio}, 1);

  Tensor dropped = dropout(out.encoding, config_.dropout_rate, training, generator);
  // Hidden FC without bias, then BN; no ReLU (removed in the reference code, §2.2).
  Tensor hidden = hidden_bn_.forward(linear(dropped, hidden_weight_), training, bn_options_);
  // SE context gating: squeeze to H/r, BN + ReLU, excite back to H, sigmoid gate.
  Tensor squeezed = relu(gating_bn_.forward(linear(hidden, gating_fc1_weight_), training, bn_options_));
  Tensor gates = sigmoid(linear(squeezed, gating_fc2_weight_));
  out.hidden = mul(hidden, gates);
  out.logits = moe_ ? moe_->forward(out.hidden) : bias_add(linear(out.hidden, classifier_weight_), classifier_bias_);
  return out;
}

}  // namespace ff
