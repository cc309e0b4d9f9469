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

// One single model. In an ensemble each branch registers its parameters under its own scope.
class NeXtVladModel::Branch {
 public:
  Branch(const NeXtVladConfig& config, ModelInit& init) : config_(config) {
    video_vlad_ = make_aggregation_block(config, Modality::Video, init);
    audio_vlad_ = make_aggregation_block(config, Modality::Audio, init);
    const int64_t encoding = video_vlad_->output_size() + audio_vlad_->output_size();
    const int64_t h = config.hidden_size, squeezed = h / config.gating_reduction, c = config.num_classes;
    hidden_weight_ = init.glorot_uniform("hidden.weight", {h, encoding}, encoding, h);
    hidden_bn_ = BatchNormLayer("hidden_bn", h, init);
    gating_fc1_weight_ = init.glorot_uniform("gating.fc1.weight", {squeezed, h}, h, squeezed);
    gating_bn_ = BatchNormLayer("gating.bn", squeezed, init);
    gating_fc2_weight_ = init.glorot_uniform("gating.fc2.weight", {h, squeezed}, squeezed, h);
    if (config.classifier == "moe") {
      moe_ = std::make_unique<MoeClassifier>("classifier", h, c, config.moe_mixtures, init);
    } else {
      classifier_weight_ = init.glorot_uniform("classifier.weight", {c, h}, h, c, /*l2_regularized=*/true);
      classifier_bias_ = init.zeros("classifier.bias", {c}, /*l2_regularized=*/true);
    }
  }

  NeXtVladOutput forward(const Tensor& frames_rgb, const Tensor& frames_audio, const Tensor& mask, bool training,
                         const BatchNormOptions& bn_options, Generator& generator) const {
    NeXtVladOutput out;
    Tensor video = video_vlad_->forward(frames_rgb, mask, training, config_.bn_excludes_padding, bn_options);
    Tensor audio = audio_vlad_->forward(frames_audio, mask, training, config_.bn_excludes_padding, bn_options);
    out.encoding = concat({video, audio}, 1);

    Tensor dropped = dropout(out.encoding, config_.dropout_rate, training, generator);
    // Hidden FC without bias, then BN; no ReLU (removed in the reference code, §2.2).
    Tensor hidden = hidden_bn_.forward(linear(dropped, hidden_weight_), training, bn_options);
    // SE context gating: squeeze to H/r, BN + ReLU, excite back to H, sigmoid gate.
    Tensor squeezed = relu(gating_bn_.forward(linear(hidden, gating_fc1_weight_), training, bn_options));
    Tensor gates = sigmoid(linear(squeezed, gating_fc2_weight_));
    out.hidden = mul(hidden, gates);
    out.logits =
        moe_ ? moe_->forward(out.hidden) : bias_add(linear(out.hidden, classifier_weight_), classifier_bias_);
    return out;
  }

 private:
  NeXtVladConfig config_;  // a copy: the model may be moved, and a reference would follow the old one
  std::unique_ptr<AggregationBlock> video_vlad_, audio_vlad_;
  Tensor hidden_weight_;  // [H, encoding]
  BatchNormLayer hidden_bn_;
  Tensor gating_fc1_weight_;  // [H/r, H]
  BatchNormLayer gating_bn_;
  Tensor gating_fc2_weight_;  // [H, H/r]
  Tensor classifier_weight_, classifier_bias_;  // logistic: [C, H], [C]; L2-regularised
  std::unique_ptr<MoeClassifier> moe_;          // the "moe" classifier instead
};

NeXtVladModel::NeXtVladModel(const NeXtVladConfig& config, Generator& generator, DType dtype, Device device)
    : config_(config), dtype_(dtype), device_(device) {
  validate(config_);
  bn_options_.momentum = config_.bn_momentum;
  bn_options_.epsilon = config_.bn_epsilon;
  const int64_t m = config_.ensemble_size;
  for (int64_t i = 0; i < m; ++i) {
    ModelInit init{parameters_, generator, dtype, device, m == 1 ? "" : "branch" + std::to_string(i) + "."};
    branches_.push_back(std::make_unique<Branch>(config_, init));
  }
  if (m > 1) {
    ModelInit init{parameters_, generator, dtype, device, "mix_gate."};
    const int64_t frame = config_.rgb_feature_size + config_.audio_feature_size;
    gate_bn_ = BatchNormLayer("bn", frame, init);
    gate_weight_ = init.glorot_uniform("weight", {m, frame}, frame, m);
    gate_bias_ = init.zeros("bias", {m});
  }
}

NeXtVladModel::~NeXtVladModel() = default;
NeXtVladModel::NeXtVladModel(NeXtVladModel&&) noexcept = default;

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
  if (branches_.size() == 1)
    return branches_.front()->forward(frames_rgb, frames_audio, mask, training, bn_options_, generator);

  // The gate reads the mean of the real frames (the TF reference averages all rows, padding included; here
  // padding never enters, as everywhere else in the engine). A video without frames has mean 0.
  // As a batched GEMM with weights 1/count on the real frames, per modality: no copy of the frames.
  std::vector<float> weights(size_t(batch * length), 0.0f);
  for (int64_t b = 0; b < batch; ++b)
    for (int32_t t = 0; t < frame_counts[size_t(b)]; ++t)
      weights[size_t(b * length + t)] = 1.0f / float(frame_counts[size_t(b)]);
  Tensor mean_weights = Tensor::from_vector(weights, {batch, 1, length}).to(dtype_).to(device_);
  Tensor frame_mean = concat({reshape(matmul(mean_weights, frames_rgb), {batch, frames_rgb.size(2)}),
                              reshape(matmul(mean_weights, frames_audio), {batch, frames_audio.size(2)})},
                             1);  // [B, N_rgb + N_audio]
  Tensor gate_logits = bias_add(linear(gate_bn_.forward(frame_mean, training, bn_options_), gate_weight_), gate_bias_);

  NeXtVladOutput out;
  out.mixture_weights = softmax(gate_logits);  // [B, M]
  std::vector<Tensor> encodings, hiddens;
  for (size_t i = 0; i < branches_.size(); ++i) {
    NeXtVladOutput part = branches_[i]->forward(frames_rgb, frames_audio, mask, training, bn_options_, generator);
    Tensor weighted = mul(part.logits, slice(out.mixture_weights, 1, int64_t(i), int64_t(i) + 1));
    out.logits = out.logits.defined() ? add(out.logits, weighted) : weighted;
    encodings.push_back(part.encoding);
    hiddens.push_back(part.hidden);
    out.branch_logits.push_back(part.logits);
  }
  out.encoding = concat(encodings, 1);
  out.hidden = concat(hiddens, 1);
  return out;
}

}  // namespace ff
