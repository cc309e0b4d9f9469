#include "models/trainer.h"

#include <cmath>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/checkpoint.h"
#include "engine/ops.h"
#include "engine/safetensors.h"

namespace ff::models {

TrainingMode parse_training_mode(const std::string& name) {
  if (name == "teacher") return TrainingMode::Teacher;
  if (name == "uniform") return TrainingMode::Uniform;
  if (name == "student") return TrainingMode::Student;
  if (name == "parallel") return TrainingMode::Parallel;
  throw std::invalid_argument("unknown training mode '" + name +
                              "' (expected teacher, uniform, student or parallel)");
}

const char* training_mode_name(TrainingMode mode) {
  switch (mode) {
    case TrainingMode::Teacher: return "teacher";
    case TrainingMode::Uniform: return "uniform";
    case TrainingMode::Student: return "student";
    case TrainingMode::Parallel: return "parallel";
  }
  return "unknown";
}

Representation parse_representation(const std::string& name) {
  if (name == "vlad") return Representation::Vlad;
  if (name == "hidden") return Representation::Hidden;
  throw std::invalid_argument("unknown representation '" + name + "' (expected vlad or hidden)");
}

const char* representation_name(Representation representation) {
  return representation == Representation::Vlad ? "vlad" : "hidden";
}

namespace {

// "classifier.*", or "branch<m>.classifier.*" in an ensemble (each branch shares its counterpart's).
bool is_classifier_parameter(const std::string& name) {
  size_t start = 0;
  if (name.rfind("branch", 0) == 0) {
    const size_t dot = name.find('.');
    if (dot == std::string::npos) return false;
    start = dot + 1;
  }
  return name.compare(start, 11, "classifier.") == 0;
}

// Copies the teacher's classifier into the student and freezes it there: no gradient, no optimizer slot,
// no L2; it is still saved with the student, which then evaluates on its own.
void share_teacher_classifier(ParameterSet& student, const ParameterSet& teacher) {
  int shared = 0;
  for (Parameter& p : student.all()) {
    if (!is_classifier_parameter(p.name)) continue;
    const Parameter* source = teacher.find(p.name);
    if (!source) throw std::runtime_error("the teacher has no parameter '" + p.name + "' to share");
    p.value.copy_from(source->value);
    p.value.set_requires_grad(false);
    p.trainable = false;
    p.l2_regularized = false;
    ++shared;
  }
  if (shared == 0) throw std::logic_error("the model has no classifier parameters to share");
}

// The shape-defining fields of a checkpoint's model config (metadata "model_config", which `train` writes)
// against the run's: a mismatch is named field by field ("ensemble_size 1, this run 3"), where loading the
// tensors would only list the dozens of names it cannot find. A checkpoint without a config is left to the
// tensor check.
void check_architecture(const std::string& path, const NeXtVladConfig& run, const std::string& what) {
  const StringMap metadata = read_safetensors_metadata(path);
  auto it = metadata.find("model_config");
  if (it == metadata.end()) return;
  nlohmann::json stored;
  try {
    stored = to_json(nextvlad_config_from_json(nlohmann::json::parse(it->second)));
  } catch (const std::exception&) {
    return;  // unreadable: trained_model and the tensor check report it with their own context
  }
  const nlohmann::json wanted = to_json(run);
  std::string differences;
  for (const char* field : {"rgb_feature_size", "audio_feature_size", "aggregation", "cluster_size", "groups",
                            "expansion", "hidden_size", "gating_reduction", "num_classes", "classifier",
                            "moe_mixtures", "ensemble_size"})
    if (stored[field] != wanted[field])
      differences += std::string(differences.empty() ? "" : ", ") + field + " " + stored[field].dump() +
                     " (this run " + wanted[field].dump() + ")";
  if (!differences.empty())
    throw std::runtime_error(what + " " + path + " has another architecture: " + differences +
                             "; give the run the same model flags");
}

}  // namespace

void validate(const TrainerConfig& config) {
  validate(config.model);
  config.schedule.validate();
  validate(config.ensemble);
  const LossWeights& w = config.weights;
  for (auto [name, value] : {std::pair{"label", w.label}, {"prediction", w.prediction}, {"representation", w.representation}})
    if (!std::isfinite(value) || value < 0)
      throw std::invalid_argument(std::string("loss weight '") + name + "' must be finite and >= 0, got " +
                                  std::to_string(value));
  if (!(config.temperature > 0) || !std::isfinite(config.temperature))
    throw std::invalid_argument("temperature must be finite and > 0, got " + std::to_string(config.temperature));
  if (config.mode == TrainingMode::Student || config.mode == TrainingMode::Parallel) {
    const char* mode = training_mode_name(config.mode);
    if (config.mode == TrainingMode::Student && config.teacher_checkpoint.empty())
      throw std::invalid_argument("student mode needs a teacher checkpoint (teacher_checkpoint)");
    if (config.mode == TrainingMode::Parallel && !config.teacher_checkpoint.empty())
      throw std::invalid_argument("parallel mode trains its teacher from scratch; a teacher checkpoint (" +
                                  config.teacher_checkpoint + ") needs student mode");
    if (config.share_classifier && config.mode != TrainingMode::Student)
      throw std::invalid_argument("sharing the teacher's classifier needs student mode (a trained teacher)");
    if (w.label + w.prediction + w.representation <= 0)
      throw std::invalid_argument(std::string(mode) +
                                  " mode needs at least one loss weight > 0 (label, prediction, representation)");
  } else {
    if (config.share_classifier)
      throw std::invalid_argument("sharing the teacher's classifier needs student mode (a trained teacher)");
    if (w.prediction != 0 || w.representation != 0)
      throw std::invalid_argument(std::string(training_mode_name(config.mode)) +
                                  " mode trains on the label loss only; prediction and representation weights "
                                  "need student mode");
    if (!(w.label > 0)) throw std::invalid_argument("the label loss weight must be > 0");
  }
}

Trainer::Trainer(TrainerConfig config, Device device)
    : config_(std::move(config)), device_(device), generator_(config_.seed) {
  validate(config_);
  model_ = std::make_unique<NeXtVladModel>(config_.model, generator_, DType::Float32, device_);
  if (config_.mode == TrainingMode::Student) {
    // Initialised from its own generator so the student's stream does not depend on it; every value is
    // then overwritten by the checkpoint.
    Generator teacher_init(config_.seed ^ 0x7eac4e5ULL);
    teacher_ = std::make_unique<NeXtVladModel>(config_.model, teacher_init, DType::Float32, device_);
    LoadOptions options;
    options.allow_extra_tensors = true;  // the teacher run's optimizer state
    check_architecture(config_.teacher_checkpoint, config_.model, "the teacher checkpoint");
    try {
      load_checkpoint_into(config_.teacher_checkpoint, teacher_->parameters(), options);
    } catch (const std::exception& e) {
      throw std::runtime_error("loading the teacher from " + config_.teacher_checkpoint + ": " + e.what());
    }
    if (config_.share_classifier) share_teacher_classifier(model_->parameters(), teacher_->parameters());
  }
  if (config_.mode == TrainingMode::Parallel) {
    Generator teacher_init(config_.seed ^ 0x7eac4e5ULL);
    teacher_ = std::make_unique<NeXtVladModel>(config_.model, teacher_init, DType::Float32, device_);
    teacher_optimizer_ = std::make_unique<AdamOptimizer>(teacher_->parameters(), config_.adam);
  }
  optimizer_ = std::make_unique<AdamOptimizer>(model_->parameters(), config_.adam);
}

Trainer::~Trainer() = default;

bool Trainer::reads_full_frames() const { return config_.mode != TrainingMode::Uniform; }
bool Trainer::reads_sampled_frames() const { return config_.mode != TrainingMode::Teacher; }

const FrameInputs& Trainer::own_view(const TrainingBatch& batch) const {
  const FrameInputs& view = config_.mode == TrainingMode::Teacher ? batch.full : batch.sampled;
  if (!view.rgb.defined() || !view.audio.defined())
    throw std::invalid_argument(std::string(training_mode_name(config_.mode)) + " mode needs the " +
                                (config_.mode == TrainingMode::Teacher ? "full" : "sampled") +
                                " frames of the batch, which are missing");
  return view;
}

StepLosses Trainer::step(const TrainingBatch& batch) {
  const FrameInputs& view = own_view(batch);
  if (!batch.labels.defined()) throw std::invalid_argument("training batch without labels");
  const int64_t batch_size = batch.size();
  const LossWeights& w = config_.weights;

  StepLosses losses;
  losses.learning_rate = config_.schedule.rate_at(examples_seen_);
  NeXtVladOutput teacher_out;
  Tensor teacher_total;  // parallel mode: the teacher's own label loss
  if (teacher_) {
    if (!batch.full.rgb.defined())
      throw std::invalid_argument(std::string(training_mode_name(config_.mode)) +
                                  " mode needs the full frames for the teacher");
    if (teacher_optimizer_) {
      teacher_->parameters().zero_grad();
      teacher_out = teacher_->forward(batch.full.rgb, batch.full.audio, batch.full.frame_counts, true, generator_);
      const LossWeights label_only{1.0, 0.0, 0.0};
      DistillationLosses teacher_losses =
          distillation_losses(teacher_out.logits, Tensor(), Tensor(), Tensor(), batch.labels, label_only);
      teacher_total = teacher_losses.total;
      losses.teacher_label = teacher_losses.label;
      if (is_ensemble()) {
        // The co-trained teacher learns from the labels: its ensemble terms at label weight 1.
        EnsembleLossOptions teacher_options = config_.ensemble;
        teacher_options.label_weight = 1.0;
        EnsembleLosses teacher_ensemble = ensemble_losses(teacher_out, batch.labels, teacher_options);
        teacher_total = add(teacher_total, teacher_ensemble.total);
        losses.teacher_ensemble_label = teacher_ensemble.branch_label;
        losses.teacher_ensemble_kl = teacher_ensemble.kl;
      }
    } else {
      NoGradGuard no_grad;
      teacher_out = teacher_->forward(batch.full.rgb, batch.full.audio, batch.full.frame_counts, false, generator_);
    }
  }

  model_->parameters().zero_grad();
  NeXtVladOutput out = model_->forward(view.rgb, view.audio, view.frame_counts, true, generator_);
  // The teacher's outputs enter as constants: in parallel mode they are the co-trained teacher's of this
  // step, detached so that no gradient of the student's losses reaches it.
  auto constant = [](const Tensor& t) { return t.defined() ? t.detach() : Tensor(); };
  const bool hidden = config_.representation == Representation::Hidden;
  DistillationLosses student = distillation_losses(out.logits, hidden ? out.hidden : out.encoding,
                                                   constant(teacher_out.logits),
                                                   constant(hidden ? teacher_out.hidden : teacher_out.encoding),
                                                   batch.labels, w,
                                                   config_.prediction_loss, config_.temperature);
  Tensor total = student.total;
  losses.label = student.label;
  losses.prediction = student.prediction;
  losses.representation = student.representation;
  // From the terms already on the host: a second read of the device total would be a second sync per step.
  losses.total = w.label * losses.label + w.prediction * losses.prediction + w.representation * losses.representation;
  if (is_ensemble()) {
    EnsembleLossOptions options = config_.ensemble;
    options.label_weight = w.label;
    EnsembleLosses ensemble = ensemble_losses(out, batch.labels, options);
    total = add(total, ensemble.total);
    losses.ensemble_label = ensemble.branch_label;
    losses.ensemble_kl = ensemble.kl;
    losses.total += w.label * ensemble.branch_label + options.kl_weight * ensemble.kl;
  }
  if (!std::isfinite(losses.total))
    throw std::runtime_error("training loss is not finite at step " + std::to_string(step_ + 1) + " (" +
                             std::to_string(losses.total) + ")");
  if (teacher_total.defined()) {
    if (!std::isfinite(losses.teacher_label + losses.teacher_ensemble_label + losses.teacher_ensemble_kl))
      throw std::runtime_error("the parallel teacher's loss is not finite at step " + std::to_string(step_ + 1));
    // The student's losses saw the teacher's outputs detached, so the two graphs are disjoint and one
    // backward pass over their sum gives each model exactly its own gradients.
    total = add(total, teacher_total);
  }
  total.backward();
  optimizer_->step(losses.learning_rate);
  if (teacher_optimizer_) teacher_optimizer_->step(losses.learning_rate);
  ++step_;
  examples_seen_ += batch_size;
  return losses;
}

Tensor Trainer::predict(const TrainingBatch& batch) {
  const FrameInputs& view = own_view(batch);
  NoGradGuard no_grad;
  return sigmoid(model_->forward(view.rgb, view.audio, view.frame_counts, false, generator_).logits);
}

namespace {
const std::string kParallelTeacherPrefix = "parallel_teacher/";
const char* const kReservedKeys[] = {"step", "examples_seen", "rng_seed", "rng_offset", "mode", "model_config"};

uint64_t parse_count(const StringMap& metadata, const std::string& key, const std::string& path) {
  auto it = metadata.find(key);
  if (it == metadata.end()) throw std::runtime_error("checkpoint " + path + " lacks the metadata key '" + key + "'");
  const std::string& text = it->second;
  size_t used = 0;
  uint64_t value = 0;
  try {
    value = std::stoull(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || text[0] == '-' || used != text.size())
    throw std::runtime_error("checkpoint " + path + ": metadata '" + key + "' is not a non-negative integer: '" +
                             text + "'");
  return value;
}
}  // namespace

void Trainer::save(const std::string& path, const StringMap& metadata) const {
  StringMap all = metadata;
  for (const char* key : kReservedKeys)
    if (all.count(key)) throw std::invalid_argument(std::string("checkpoint metadata key '") + key + "' is reserved");
  all["step"] = std::to_string(step_);
  all["examples_seen"] = std::to_string(examples_seen_);
  all["rng_seed"] = std::to_string(generator_.seed());
  all["rng_offset"] = std::to_string(generator_.offset());
  all["mode"] = training_mode_name(config_.mode);
  all["model_config"] = to_json(config_.model).dump();  // eval, infer and a student rebuild the model from it
  NamedTensors extra = optimizer_->state();
  if (teacher_optimizer_) {
    for (const Parameter& p : teacher_->parameters().all()) extra.emplace_back(kParallelTeacherPrefix + p.name, p.value);
    for (auto& [name, value] : teacher_optimizer_->state()) extra.emplace_back(kParallelTeacherPrefix + name, value);
  }
  save_checkpoint(path, model_->parameters(), extra, all);
}

StringMap Trainer::resume(const std::string& path) {
  LoadOptions options;
  options.allow_extra_tensors = true;
  check_architecture(path, config_.model, "checkpoint");
  // The tensors are copied before the metadata is checked: a failure below leaves a half-restored
  // trainer, which the caller must not keep using (the train command exits).
  CheckpointContents contents = load_checkpoint_into(path, model_->parameters(), options);
  const StringMap& metadata = contents.metadata;
  auto mode = metadata.find("mode");
  if (mode != metadata.end() && mode->second != training_mode_name(config_.mode))
    throw std::runtime_error("checkpoint " + path + " was written in " + mode->second + " mode, this run is " +
                             training_mode_name(config_.mode));
  int64_t step = int64_t(parse_count(metadata, "step", path));
  int64_t examples = int64_t(parse_count(metadata, "examples_seen", path));
  uint64_t rng_seed = parse_count(metadata, "rng_seed", path);
  uint64_t rng_offset = parse_count(metadata, "rng_offset", path);
  std::map<std::string, Tensor> extra(contents.extra.begin(), contents.extra.end());
  std::map<std::string, Tensor> teacher_state;
  for (auto it = extra.lower_bound(kParallelTeacherPrefix);
       it != extra.end() && it->first.compare(0, kParallelTeacherPrefix.size(), kParallelTeacherPrefix) == 0; ++it)
    teacher_state.emplace(it->first.substr(kParallelTeacherPrefix.size()), it->second);
  if (teacher_optimizer_) {
    std::string missing;
    for (const Parameter& p : teacher_->parameters().all())
      if (!teacher_state.count(p.name)) missing += (missing.empty() ? "" : ", ") + kParallelTeacherPrefix + p.name;
    if (!missing.empty()) throw std::runtime_error("checkpoint " + path + " lacks the parallel teacher's " + missing);
    for (Parameter& p : teacher_->parameters().all()) p.value.copy_from(teacher_state.at(p.name));
    teacher_optimizer_->load_state(teacher_state);
  }
  optimizer_->load_state(extra);
  step_ = step;
  examples_seen_ = examples;
  generator_.set_state(rng_seed, rng_offset);
  return metadata;
}

}  // namespace ff::models
