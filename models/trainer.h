// The training loop of one model, independent of files: it takes batches of float frames and labels as
// tensors, runs the forward pass and the losses of its mode, and steps Adam on the staircase schedule.
//
// Modes (shared/reference/paper-and-nextvlad.md):
//   teacher  the model reads every frame (`full`), label loss only
//   uniform  the model reads k sampled frames (`sampled`), label loss only: the no-distillation baseline
//   student  serial distillation: a frozen teacher, loaded from its checkpoint, reads `full` in inference
//            mode without gradients; the student reads `sampled` and learns from any weighted sum of the
//            label, prediction and representation losses
//   parallel teacher and student trained together from scratch: the teacher reads `full` and learns from
//            the label loss only (its own Adam); the student reads `sampled` and learns from the weighted
//            losses against the teacher's outputs of the same step, detached, so no gradient of the
//            student's losses reaches the teacher
//
// State for resume: the model's parameters and buffers, the optimizer's slots and step, the Generator
// (dropout draws) and the examples seen (the schedule's clock). save() writes them all in one checkpoint,
// with caller metadata (the data position, the config) beside them; resume() restores them, so a run
// stopped and resumed takes exactly the steps of an unbroken one.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/lr_schedule.h"
#include "engine/optimizer.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "models/distillation_losses.h"
#include "models/ensemble_loss.h"
#include "models/nextvlad.h"

namespace ff::models {

enum class TrainingMode { Teacher, Uniform, Student, Parallel };
TrainingMode parse_training_mode(const std::string& name);  // "teacher", "uniform", "student", "parallel"
const char* training_mode_name(TrainingMode mode);

// Which encoding the representation loss compares: the concatenated rgb+audio VLAD output before dropout
// (the supplementary's "concatenated video encodings", the default) or the gated hidden vector that feeds
// the classifier.
enum class Representation { Vlad, Hidden };
Representation parse_representation(const std::string& name);  // "vlad", "hidden"
const char* representation_name(Representation representation);

struct TrainerConfig {
  TrainingMode mode = TrainingMode::Teacher;
  NeXtVladConfig model;
  // Student mode: the teacher's checkpoint (same architecture as `model`) and the loss mix.
  std::string teacher_checkpoint;
  LossWeights weights;
  PredictionLoss prediction_loss = PredictionLoss::CategoricalKL;
  double temperature = 1.0;
  Representation representation = Representation::Vlad;
  // Student mode: the student uses the teacher's trained classifier, copied from its checkpoint and frozen
  // (the paper's shared output layer), so the student learns encodings that classifier reads correctly.
  bool share_classifier = false;
  // An ensemble (model.ensemble_size > 1) adds its on-the-fly distillation to every mode's losses, the
  // parallel teacher's included.
  EnsembleLossOptions ensemble;
  // The original training: Adam 2e-4, x0.8 every 2,000,000 examples, L2 1e-5 on the classifier,
  // per-tensor clip 1.0.
  LearningRateSchedule schedule;
  AdamOptions adam = [] {
    AdamOptions o;
    o.preprocessing.l2 = 1e-5f;
    o.preprocessing.clip_norm = 1.0f;
    return o;
  }();
  uint64_t seed = 0;  // model initialisation, then dropout
};

// Checks the mode's requirements (a teacher checkpoint and a positive loss weight in student mode, only
// the label loss otherwise, a positive temperature) and the model config; throws std::invalid_argument.
void validate(const TrainerConfig& config);

// One view of a batch, already on the model's device in its dtype.
struct FrameInputs {
  Tensor rgb;    // [B, M, N_rgb]
  Tensor audio;  // [B, M, N_audio]
  std::vector<int32_t> frame_counts;  // [B]
};

struct TrainingBatch {
  FrameInputs full;     // every frame (the teacher's view); needed by teacher and student modes
  FrameInputs sampled;  // k sampled frames; needed by uniform and student modes
  Tensor labels;        // [B, C] multi-hot, float32, on the model's device
  int64_t size() const { return labels.size(0); }
};

struct StepLosses {
  double total = 0.0;
  double label = 0.0;           // 0 when its weight is 0 (not computed)
  double prediction = 0.0;
  double representation = 0.0;
  // Parallel mode: the co-trained teacher's label loss and, for an ensemble, its own ensemble terms.
  double teacher_label = 0.0;
  double teacher_ensemble_label = 0.0;
  double teacher_ensemble_kl = 0.0;
  // An ensemble (model.ensemble_size > 1): its on-the-fly distillation terms (models/ensemble_loss.h),
  // included in `total` as label_weight * ensemble_label + kl_weight * ensemble_kl.
  double ensemble_label = 0.0;
  double ensemble_kl = 0.0;
  double learning_rate = 0.0;
};

class Trainer {
 public:
  explicit Trainer(TrainerConfig config, Device device = Device::cpu());
  ~Trainer();

  // One optimisation step on `batch`; returns the losses before the update.
  StepLosses step(const TrainingBatch& batch);

  // Sigmoid scores [B, C] of the trained model in inference mode, no gradients, on its own view
  // (`full` for teacher mode, `sampled` otherwise).
  Tensor predict(const TrainingBatch& batch);

  // The view the trained model reads, and whether the teacher (frozen or co-trained) needs `full` too.
  bool reads_full_frames() const;
  bool reads_sampled_frames() const;
  // Whether the model is an ensemble, whose steps add its on-the-fly distillation.
  bool is_ensemble() const { return config_.model.ensemble_size > 1; }

  // Writes parameters, buffers, optimizer state and the training metadata ("step", "examples_seen",
  // "rng_seed", "rng_offset", "mode", "model_config") plus `metadata` (which may not reuse those keys)
  // atomically.
  void save(const std::string& path, const StringMap& metadata = {}) const;
  // Restores everything save() wrote and returns the whole metadata, caller's keys included.
  StringMap resume(const std::string& path);

  int64_t step_count() const { return step_; }
  int64_t examples_seen() const { return examples_seen_; }
  const TrainerConfig& config() const { return config_; }
  NeXtVladModel& model() { return *model_; }
  const Generator& generator() const { return generator_; }

 private:
  const FrameInputs& own_view(const TrainingBatch& batch) const;

  TrainerConfig config_;
  Device device_;
  Generator generator_;
  std::unique_ptr<NeXtVladModel> model_;
  std::unique_ptr<NeXtVladModel> teacher_;  // student mode: frozen; parallel mode: trained on L_CE
  std::unique_ptr<AdamOptimizer> optimizer_;
  std::unique_ptr<AdamOptimizer> teacher_optimizer_;  // parallel mode only
  int64_t step_ = 0;
  int64_t examples_seen_ = 0;
};

}  // namespace ff::models
