// The NeXtVLAD video classifier (shared/reference/paper-and-nextvlad.md §2.1-2.2): an rgb and an audio
// NeXtVLAD block, their encodings concatenated, dropout, a hidden FC with batch norm (no ReLU), SE context
// gating and a logistic classifier. The config may swap the blocks for NetVLAD (§6.2) and the classifier
// for a mixture of experts; the head stays the same. With ensemble_size M > 1 the model is the NeXtVLAD
// paper's mixture (§2.4): M such branches and a softmax gate over them computed from the frame mean, whose
// mixture of the branch logits is the prediction (docs/ensemble.md). Built from engine ops, so autograd
// supplies the backward pass.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/ops.h"
#include "engine/parameters.h"
#include "engine/tensor.h"
#include "models/aggregation_block.h"
#include "models/layers.h"
#include "models/moe_classifier.h"
#include "models/nextvlad_config.h"

namespace ff {

struct NeXtVladOutput {
  Tensor logits;    // [B, C], before the sigmoid (for MoE: logit of the mixture's probability)
  // Concatenated VLADs, before dropout: [B, K*lambda*N_rgb/G + (K/2)*lambda*N_audio/(G/2)] for NeXtVLAD,
  // [B, K*N_rgb + (K/2)*N_audio] for NetVLAD.
  Tensor encoding;
  Tensor hidden;    // [B, H]: the gated hidden vector the classifier reads
  // An ensemble of M > 1 branches: `logits` is the gate's mixture sum_m a_m z_m, `encoding` and `hidden`
  // are the branches' concatenated ([B, M * encoding], [B, M * H]), and these are the parts:
  std::vector<Tensor> branch_logits;  // M tensors [B, C]: z_m; empty for a single model
  Tensor mixture_weights;             // [B, M]: a, the gate's softmax; undefined for a single model
};

class NeXtVladModel {
 public:
  // Registers every parameter and buffer in `parameters()` (names in the PyTorch style: "video_vlad.*",
  // "audio_vlad.*", "hidden.weight", "hidden_bn.*", "gating.*", "classifier.*"; for MoE "classifier.gate.*"
  // and "classifier.experts.*"; in an ensemble each branch's under "branch<m>." and the gate's under
  // "mix_gate.*") and initialises them from `generator` (see models/layers.h), branch by branch.
  NeXtVladModel(const NeXtVladConfig& config, Generator& generator, DType dtype = DType::Float32,
                Device device = Device::cpu());
  ~NeXtVladModel();
  NeXtVladModel(NeXtVladModel&&) noexcept;

  // frames_rgb [B, M, N_rgb], frames_audio [B, M, N_audio] in the model's dtype and device, M <=
  // max_frames; frame_counts[b] in [0, M] real frames at the front of video b, the rest is padding.
  // Training uses batch statistics (and updates the running ones) and dropout drawn from `generator`.
  NeXtVladOutput forward(const Tensor& frames_rgb, const Tensor& frames_audio,
                         const std::vector<int32_t>& frame_counts, bool training, Generator& generator) const;

  const NeXtVladConfig& config() const { return config_; }
  ParameterSet& parameters() { return parameters_; }
  const ParameterSet& parameters() const { return parameters_; }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }

 private:
  class Branch;  // one whole single model: blocks, head, classifier

  NeXtVladConfig config_;
  DType dtype_;
  Device device_;
  ParameterSet parameters_;
  BatchNormOptions bn_options_;
  std::vector<std::unique_ptr<Branch>> branches_;
  // The ensemble's gate: batch norm of the frame mean [B, N_rgb + N_audio], then an FC to M logits.
  BatchNormLayer gate_bn_;
  Tensor gate_weight_, gate_bias_;  // [M, N_rgb + N_audio], [M]
};

// [B, M] mask of the given dtype and device: 1 for the first frame_counts[b] frames of row b, else 0.
Tensor make_frame_mask(const std::vector<int32_t>& frame_counts, int64_t frames, DType dtype, Device device);

}  // namespace ff
