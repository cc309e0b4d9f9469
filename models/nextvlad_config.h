// Hyper-parameters of the NeXtVLAD video classifier (shared/reference/paper-and-nextvlad.md §2.5, the
// "local" configuration: K=128, G=8, lambda=2, H=2048, r=8, logistic classifier, 3862 classes), and the
// two alternatives the paper's teachers use: NetVLAD aggregation (§6.2) and a mixture-of-experts classifier.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace ff {

struct NeXtVladConfig {
  int64_t rgb_feature_size = 1024;
  int64_t audio_feature_size = 128;
  // Upper bound on the frames a batch may carry; the frame axis of the input itself may be shorter
  // (a student reads k frames), the mask is built from the input's length, not from this number.
  int64_t max_frames = 300;
  // "nextvlad" or "netvlad" (models/netvlad_block.h: no expansion and no groups, so `groups` and
  // `expansion` are then unused).
  std::string aggregation = "nextvlad";
  int64_t cluster_size = 128;  // K for rgb; the audio block uses K/2
  int64_t groups = 8;          // G for rgb; the audio block uses G/2
  int64_t expansion = 2;       // lambda
  int64_t hidden_size = 2048;  // H
  int64_t gating_reduction = 8;  // r: the SE gate squeezes H to H/r
  double dropout_rate = 0.5;     // on the concatenated VLAD encoding, training only
  int64_t num_classes = 3862;
  std::string classifier = "logistic";  // "logistic" or "moe" (models/moe_classifier.h)
  int64_t moe_mixtures = 2;             // m, the experts per class of the "moe" classifier
  // tf.contrib.slim.batch_norm defaults (decay 0.999, epsilon 1e-3), which every BN of the TF model uses.
  double bn_momentum = 0.999;
  double bn_epsilon = 1e-3;
  // Cluster-BN statistics over real frames only (the TF code includes padded frames; see §7.8).
  bool bn_excludes_padding = true;
  // M: 1 is the single model; M > 1 is the NeXtVLAD paper's mixture of M full branches under a softmax
  // gate, trained with on-the-fly distillation (models/nextvlad.h, docs/ensemble.md).
  int64_t ensemble_size = 1;
};

// The largest ensemble a config may ask for: each branch is a whole model.
constexpr int64_t kMaxEnsembleSize = 16;

// Checks the names and sizes (K even; for NeXtVLAD G even and G, G/2 dividing lambda*N; r divides H;
// at least one mixture); throws std::invalid_argument naming the field.
void validate(const NeXtVladConfig& config);

// Trainable elements of the model built from `config`, from the shapes alone: weights, biases, cluster
// centres and batch-norm gamma/beta, of every branch and the ensemble's gate; batch-norm running
// statistics (buffers) are not counted.
int64_t parameter_count(const NeXtVladConfig& config);

// The config as a JSON object keyed by the field names, and back. Checkpoints carry it (metadata key
// "model_config") so that eval and infer rebuild exactly the trained architecture; reading rejects unknown
// keys and fills absent ones with the defaults above, so older checkpoints keep loading.
nlohmann::json to_json(const NeXtVladConfig& config);
NeXtVladConfig nextvlad_config_from_json(const nlohmann::json& json);

}  // namespace ff
