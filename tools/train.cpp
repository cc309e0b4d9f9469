// `fewerframes train`: trains a teacher, a uniform-k baseline or a distilled student on TFRecord shards.
// Every flag may also come from a JSON config file (--config), keyed by the flag's long name without the
// dashes ({"mode": "student", "k": 5}); a flag given on the command line wins over the file. The resolved
// configuration is written to RUN/config.json, losses to RUN/log.jsonl (one JSON object per line: training
// losses every --log-every steps, validation metrics every --validate-every steps), checkpoints to
// RUN/checkpoint.safetensors (written atomically). SIGINT or SIGTERM ends the run after the current step
// with a checkpoint; --resume CHECKPOINT continues the model, optimizer, random stream and data position.
// The same numbers go to TensorBoard event files in RUN (`tensorboard --logdir RUN`), tagged "train/<name>"
// and "validation/<name>".
#include <fmt/core.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "data/event_file.h"
#include "data/frame_sampler.h"
#include "data/loader.h"
#include "engine/metrics.h"
#include "engine/progress.h"
#include "models/nextvlad.h"
#include "models/trainer.h"
#include "tools/batch_tensors.h"
#include "tools/command.h"

namespace ff::tools {
namespace {

struct TrainOptions {
  std::string config_file, run_dir = "run", train_pattern, validate_pattern, resume, device = "cpu";
  std::string mode = "teacher", sampler = "uniform", teacher, prediction_loss = "categorical-kl";
  std::string representation = "vlad";
  bool share_classifier = false;
  std::string layout = "2018";
  int64_t k = 10, classes = 0, max_frames = 300;
  int64_t cluster_size = 128, groups = 8, expansion = 2, hidden = 2048, gating_reduction = 8;
  std::string aggregation = "nextvlad", classifier = "logistic";
  int64_t moe_mixtures = 2, ensemble = 1;
  double ensemble_kl_weight = 9.0, ensemble_temperature = 3.0;
  double dropout = 0.5, bn_momentum = 0.999;
  bool bn_includes_padding = false;
  double label_weight = 1.0, prediction_weight = 0.0, representation_weight = 0.0, temperature = 1.0;
  double learning_rate = 2e-4, decay_rate = 0.8, l2 = 1e-5, clip_norm = 1.0;
  int64_t decay_examples = 2'000'000, batch_size = 160, steps = 10000;
  int64_t log_every = 10, validate_every = 0, checkpoint_every = 1000, validate_batches = 0, shuffle_buffer = 256;
  int reader_threads = 2;
  uint64_t seed = 0;
  bool dry_run = false;
};

std::atomic<bool> stop_requested{false};
extern "C" void request_stop(int) { stop_requested = true; }

// Installs the stop handler for SIGINT and SIGTERM for its lifetime, restoring the previous ones after.
struct StopOnSignal {
  using Handler = void (*)(int);
  Handler previous_int, previous_term;
  StopOnSignal() {
    stop_requested = false;
    previous_int = std::signal(SIGINT, request_stop);
    previous_term = std::signal(SIGTERM, request_stop);
  }
  ~StopOnSignal() {
    std::signal(SIGINT, previous_int);
    std::signal(SIGTERM, previous_term);
  }
};

// Options that describe the command itself, not the run: never read from or written to a config file.
bool is_meta_option(const std::string& name) { return name == "help" || name == "config" || name == "dry-run"; }

// A JSON value as the text CLI11 parses: strings as they are, numbers and booleans as JSON writes them.
std::string option_text(const nlohmann::json& value) { return value.is_string() ? value.get<std::string>() : value.dump(); }

void apply_config_file(CLI::App& app, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open config file " + path);
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw std::runtime_error("config file " + path + " is not valid JSON: " + e.what());
  }
  if (!config.is_object()) throw std::runtime_error("config file " + path + " must hold a JSON object");
  for (const auto& [key, value] : config.items()) {
    CLI::Option* option = is_meta_option(key) ? nullptr : app.get_option_no_throw("--" + key);
    if (!option) throw std::runtime_error("config file " + path + ": unknown key '" + key + "'");
    if (option->count() > 0) continue;  // the command line wins
    option->add_result(option_text(value));
    try {
      option->run_callback();
    } catch (const std::exception& e) {
      throw std::runtime_error("config file " + path + ": key '" + key + "': " + e.what());
    }
  }
}

// Every run option with its effective value, typed where the text is a JSON number or boolean.
nlohmann::json resolved_config(const CLI::App& app) {
  nlohmann::json out = nlohmann::json::object();
  for (const CLI::Option* option : app.get_options()) {
    std::string name = option->get_single_name();
    if (option->get_lnames().empty() || is_meta_option(name)) continue;
    std::string text = option->count() > 0 ? option->results().back() : option->get_default_str();
    nlohmann::json value = nlohmann::json::parse(text, nullptr, false);
    out[name] = value.is_number() || value.is_boolean() ? value : nlohmann::json(text);
  }
  return out;
}

models::TrainerConfig trainer_config(const TrainOptions& o, const data::YouTube8MLayout& layout) {
  models::TrainerConfig c;
  c.mode = models::parse_training_mode(o.mode);
  c.model.rgb_feature_size = layout.frame_features.at(0).size;
  c.model.audio_feature_size = layout.frame_features.at(1).size;
  c.model.num_classes = layout.num_classes;
  c.model.max_frames = o.max_frames;
  c.model.cluster_size = o.cluster_size;
  c.model.groups = o.groups;
  c.model.expansion = o.expansion;
  c.model.hidden_size = o.hidden;
  c.model.gating_reduction = o.gating_reduction;
  c.model.aggregation = o.aggregation;
  c.model.classifier = o.classifier;
  c.model.bn_momentum = o.bn_momentum;
  c.model.bn_excludes_padding = !o.bn_includes_padding;
  c.model.moe_mixtures = o.moe_mixtures;
  c.model.ensemble_size = o.ensemble;
  c.ensemble = {o.ensemble_kl_weight, o.ensemble_temperature};
  c.model.dropout_rate = o.dropout;
  c.teacher_checkpoint = o.teacher;
  c.weights = {o.label_weight, o.prediction_weight, o.representation_weight};
  c.prediction_loss = models::parse_prediction_loss(o.prediction_loss);
  c.temperature = o.temperature;
  c.representation = models::parse_representation(o.representation);
  c.share_classifier = o.share_classifier;
  c.schedule = LearningRateSchedule::staircase_exponential(o.learning_rate, o.decay_rate, o.decay_examples);
  c.adam.preprocessing.l2 = float(o.l2);
  c.adam.preprocessing.clip_norm = float(o.clip_norm);
  c.seed = o.seed;
  return c;
}

constexpr const char* kFullView = "all";
constexpr const char* kSampledView = "sampled";

data::LoaderOptions loader_options(const TrainOptions& o, const data::YouTube8MLayout& layout, const std::string& pattern,
                                   bool full, bool sampled) {
  data::LoaderOptions l;
  l.patterns = {pattern};
  l.layout = layout;
  l.views.clear();
  if (full) l.views.push_back({kFullView, {data::FrameSampler::All, 0, o.max_frames}});
  // With the full view on the device anyway, the sampled frames are gathered there (tools/batch_tensors.h).
  if (sampled) l.views.push_back({kSampledView, {data::parse_frame_sampler(o.sampler), o.k, o.max_frames}, !full});
  l.batch_size = o.batch_size;
  l.reader_threads = o.reader_threads;
  l.shuffle_buffer = o.shuffle_buffer;
  l.seed = o.seed;
  return l;
}

// One pass over the validation files (or its first --validate-batches batches) in inference mode.
MetricsResult run_validation(models::Trainer& trainer, const TrainOptions& o, const data::YouTube8MLayout& layout,
                       Device device) {
  const bool teacher_view = trainer.config().mode == models::TrainingMode::Teacher;
  data::LoaderOptions l = loader_options(o, layout, o.validate_pattern, teacher_view, !teacher_view);
  l.shuffle_buffer = 0;
  data::Loader loader(l);
  MetricsAccumulator metrics(layout.num_classes, 20);
  data::Batch batch;
  for (int64_t n = 0; (o.validate_batches <= 0 || n < o.validate_batches) && loader.next(batch); ++n) {
    models::TrainingBatch tensors =
        training_batch(batch, layout, teacher_view ? kFullView : "", teacher_view ? "" : kSampledView, device);
    std::vector<float> scores = trainer.predict(tensors).to(Device::cpu()).to_vector<float>();
    metrics.add(scores.data(), batch.multi_hot.data(), batch.size);
  }
  return metrics.result();
}

using Scalars = std::vector<std::pair<std::string, double>>;

// The numbers of one training log line; the teacher's own loss only exists in parallel mode, the ensemble
// terms only for an ensemble.
Scalars training_scalars(const models::StepLosses& losses, models::TrainingMode mode, bool ensemble) {
  Scalars out{{"loss", losses.total},
              {"label_loss", losses.label},
              {"prediction_loss", losses.prediction},
              {"representation_loss", losses.representation}};
  if (mode == models::TrainingMode::Parallel) out.emplace_back("teacher_label_loss", losses.teacher_label);
  if (ensemble) {
    out.emplace_back("ensemble_label_loss", losses.ensemble_label);
    out.emplace_back("ensemble_kl", losses.ensemble_kl);
    if (mode == models::TrainingMode::Parallel) {
      out.emplace_back("teacher_ensemble_label_loss", losses.teacher_ensemble_label);
      out.emplace_back("teacher_ensemble_kl", losses.teacher_ensemble_kl);
    }
  }
  out.emplace_back("learning_rate", losses.learning_rate);
  return out;
}

Scalars validation_scalars(const MetricsResult& m) {
  return {{"gap", m.gap}, {"map", m.map}, {"hit_at_1", m.hit_at_1}, {"perr", m.perr}};
}

// Writes one step's scalars to both logs: a JSONL line ({"step", <prefix>name...} plus `extra`) and one
// TensorBoard event with the tags "<group>/<name>".
void log_scalars(std::ostream& jsonl, data::EventFileWriter& events, int64_t step, const std::string& group,
                 const std::string& json_prefix, const Scalars& scalars, nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json line = {{"step", step}};
  line.update(extra);
  Scalars tagged;
  for (const auto& [name, value] : scalars) {
    line[json_prefix + name] = value;
    tagged.emplace_back(group + "/" + name, value);
  }
  jsonl << line.dump() << "\n" << std::flush;
  events.add_scalars(tagged, step);
}

void run_train(const TrainOptions& o, CLI::App& app) {
  data::YouTube8MLayout layout = data::YouTube8MLayout::from_name(o.layout);
  if (o.classes > 0) layout.num_classes = o.classes;
  models::TrainerConfig config = trainer_config(o, layout);
  const nlohmann::json resolved = resolved_config(app);
  Device device = parse_device(o.device);

  // The ensemble's loss settings mean nothing to a single model: a user who gives them expects an ensemble.
  for (const char* flag : {"--ensemble-kl-weight", "--ensemble-temperature"})
    if (o.ensemble == 1 && app.count(flag) > 0)
      throw std::invalid_argument(std::string(flag) + " sets the ensemble's on-the-fly distillation; it needs "
                                  "--ensemble 2 or more");
  if (o.dry_run) {
    validate(config.model);
    models::validate(config.ensemble);
    Generator generator(o.seed);
    NeXtVladModel model(config.model, generator, DType::Float32, device);
    fmt::print("{}\n", resolved.dump(2));
    fmt::print("parameters: {}\n", model.parameters().trainable_count());
    return;
  }
  if (o.train_pattern.empty()) throw std::invalid_argument("--train is required (a glob of training TFRecords)");
  if (o.steps < 1) throw std::invalid_argument("--steps must be >= 1");

  models::Trainer trainer(config, device);
  fmt::print("{} mode, {}: parameters: {}\n", o.mode, device.str(), trainer.model().parameters().trainable_count());
  std::filesystem::create_directories(o.run_dir);
  const std::filesystem::path run(o.run_dir);
  {
    std::ofstream out(run / "config.json");
    out << resolved.dump(2) << "\n";
    if (!out) throw std::runtime_error("cannot write " + (run / "config.json").string());
  }
  const bool full = trainer.reads_full_frames(), sampled = trainer.reads_sampled_frames();
  data::Loader loader(loader_options(o, layout, o.train_pattern, full, sampled));
  if (!o.resume.empty()) {
    StringMap metadata = trainer.resume(o.resume);
    auto position = metadata.find("loader_position");
    if (position == metadata.end()) throw std::runtime_error("checkpoint " + o.resume + " lacks the loader position");
    loader.restore(position->second);
    fmt::print("resumed from {} at step {} ({} examples)\n", o.resume, trainer.step_count(), trainer.examples_seen());
  }

  std::ofstream log(run / "log.jsonl", std::ios::app);
  if (!log) throw std::runtime_error("cannot open " + (run / "log.jsonl").string());
  data::EventFileWriter events(o.run_dir);
  const std::string checkpoint = (run / "checkpoint.safetensors").string();
  auto save = [&] {
    trainer.save(checkpoint, {{"loader_position", loader.position()}, {"config", resolved.dump()}});
  };

  StopOnSignal stop_on_signal;
  const int64_t remaining = o.steps - trainer.step_count();
  Progress progress("train", remaining * o.batch_size, "videos");
  data::Batch batch;
  bool epoch_had_batches = true;
  while (trainer.step_count() < o.steps && !stop_requested) {
    if (!loader.next(batch)) {
      if (!epoch_had_batches) throw std::runtime_error("no training video in the files of " + o.train_pattern);
      loader.next_epoch();
      epoch_had_batches = false;
      continue;
    }
    epoch_had_batches = true;
    models::StepLosses losses =
        trainer.step(training_batch(batch, layout, full ? kFullView : "", sampled ? kSampledView : "", device));
    progress.advance(batch.size);
    const int64_t step = trainer.step_count();
    if (o.log_every > 0 && step % o.log_every == 0)
      log_scalars(log, events, step, "train", "", training_scalars(losses, config.mode, trainer.is_ensemble()),
                  {{"examples", trainer.examples_seen()}, {"epoch", batch.epoch}});
    if (o.validate_every > 0 && !o.validate_pattern.empty() && step % o.validate_every == 0) {
      MetricsResult m = run_validation(trainer, o, layout, device);
      log_scalars(log, events, step, "validation", "validation_", validation_scalars(m),
                  {{"validation_examples", m.examples}});
    }
    if (o.checkpoint_every > 0 && step % o.checkpoint_every == 0) save();
  }
  save();
  progress.finish();
  if (stop_requested)
    fmt::print("stopped by signal at step {}; checkpoint {} (continue with --resume)\n", trainer.step_count(), checkpoint);
  else
    fmt::print("trained {} steps ({} examples); checkpoint {}\n", trainer.step_count(), trainer.examples_seen(), checkpoint);
}

CommandAction setup_train(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  app.add_option("--config", o->config_file, "JSON file of options (keys: the flags' long names); flags win")
      ->check(CLI::ExistingFile);
  app.add_flag("--dry-run", o->dry_run, "build the model, print the resolved config and parameter count, exit");
  app.add_option("--run-dir", o->run_dir, "folder for config.json, log.jsonl and checkpoints")->capture_default_str();
  app.add_option("--train", o->train_pattern, "glob of frame-level training TFRecords")->capture_default_str();
  app.add_option("--validate", o->validate_pattern, "glob of frame-level validation TFRecords")->capture_default_str();
  app.add_option("--resume", o->resume, "continue from this checkpoint")->capture_default_str();
  app.add_option("--device", o->device, "cpu or cuda[:N]")->capture_default_str();
  app.add_option("--mode", o->mode, "teacher, uniform, student (serial, from --teacher) or parallel")
      ->check(CLI::IsMember({"teacher", "uniform", "student", "parallel"}))
      ->capture_default_str();
  app.add_option("--sampler", o->sampler, "frame sampler of the uniform and student modes")->capture_default_str();
  app.add_option("--k", o->k, "frames the sampler keeps")->capture_default_str();
  app.add_option("--teacher", o->teacher, "student mode: the teacher's checkpoint")->capture_default_str();
  app.add_option("--label-weight", o->label_weight, "weight of the label loss")->capture_default_str();
  app.add_option("--prediction-weight", o->prediction_weight, "weight of the prediction loss")->capture_default_str();
  app.add_option("--representation-weight", o->representation_weight, "weight of the representation loss")
      ->capture_default_str();
  app.add_option("--prediction-loss", o->prediction_loss, "categorical-kl, bernoulli-kl or squared-error")
      ->capture_default_str();
  app.add_option("--temperature", o->temperature, "prediction-loss temperature")->capture_default_str();
  app.add_option("--representation", o->representation,
                 "what the representation loss compares: vlad (the concatenated VLAD encodings) or hidden (the "
                 "gated hidden vector)")
      ->check(CLI::IsMember({"vlad", "hidden"}))
      ->capture_default_str();
  app.add_flag("--share-classifier", o->share_classifier,
               "student mode: use the teacher's trained classifier, frozen, as the student's");
  app.add_option("--layout", o->layout, "2018 or 2017")->check(CLI::IsMember({"2018", "2017"}))->capture_default_str();
  app.add_option("--classes", o->classes, "classes (default: the layout's)")->capture_default_str();
  app.add_option("--max-frames", o->max_frames, "frames read per video")->capture_default_str();
  app.add_option("--cluster-size", o->cluster_size, "NeXtVLAD clusters K")->capture_default_str();
  app.add_option("--groups", o->groups, "NeXtVLAD groups G")->capture_default_str();
  app.add_option("--expansion", o->expansion, "NeXtVLAD expansion lambda")->capture_default_str();
  app.add_option("--hidden", o->hidden, "hidden size H")->capture_default_str();
  app.add_option("--gating-reduction", o->gating_reduction, "SE gating reduction r")->capture_default_str();
  app.add_option("--aggregation", o->aggregation, "frame aggregation: nextvlad or netvlad")
      ->check(CLI::IsMember({"nextvlad", "netvlad"}))
      ->capture_default_str();
  app.add_option("--classifier", o->classifier, "video-level classifier: logistic or moe")
      ->check(CLI::IsMember({"logistic", "moe"}))
      ->capture_default_str();
  app.add_option("--bn-momentum", o->bn_momentum,
                 "decay of the batch-norm running statistics (the original's 0.999 needs thousands of steps; "
                 "short runs evaluate better with 0.9-0.99)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_flag("--bn-includes-padding", o->bn_includes_padding,
               "cluster batch-norm statistics over padded frames too, as the original TF code does");
  app.add_option("--moe-mixtures", o->moe_mixtures, "experts per class of the moe classifier")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--ensemble", o->ensemble,
                 "branches M: 1 is the single model; M > 1 trains the mixture of M NeXtVLADs under a softmax gate "
                 "with on-the-fly distillation (docs/ensemble.md)")
      ->check(CLI::Range(int64_t(1), kMaxEnsembleSize))
      ->capture_default_str();
  app.add_option("--ensemble-kl-weight", o->ensemble_kl_weight,
                 "ensemble: weight of the branches' KL to the mixture (9 = T^2 at T = 3)")
      ->capture_default_str();
  app.add_option("--ensemble-temperature", o->ensemble_temperature,
                 "ensemble: temperature T of the class softmax in that KL")
      ->capture_default_str();
  app.add_option("--dropout", o->dropout, "dropout rate on the encoding")->capture_default_str();
  app.add_option("--learning-rate", o->learning_rate, "Adam base learning rate")->capture_default_str();
  app.add_option("--decay-rate", o->decay_rate, "learning-rate factor per decay period")->capture_default_str();
  app.add_option("--decay-examples", o->decay_examples, "examples per decay period")->capture_default_str();
  app.add_option("--l2", o->l2, "L2 weight on the classifier")->capture_default_str();
  app.add_option("--clip-norm", o->clip_norm, "per-tensor gradient clip (<= 0: none)")->capture_default_str();
  app.add_option("--batch-size", o->batch_size, "videos per step")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--steps", o->steps, "train until this step")->capture_default_str();
  app.add_option("--log-every", o->log_every, "steps between log lines")->capture_default_str();
  app.add_option("--validate-every", o->validate_every, "steps between validations (0: never)")->capture_default_str();
  app.add_option("--validate-batches", o->validate_batches, "batches per validation (0: all)")->capture_default_str();
  app.add_option("--checkpoint-every", o->checkpoint_every, "steps between checkpoints (0: only at the end)")
      ->capture_default_str();
  app.add_option("--shuffle-buffer", o->shuffle_buffer, "videos in the shuffle buffer")->capture_default_str();
  app.add_option("--reader-threads", o->reader_threads, "loader threads")->capture_default_str();
  app.add_option("--seed", o->seed, "initialisation, dropout and shuffling seed")->capture_default_str();
  CLI::App* self = &app;
  return [o, self] {
    if (!o->config_file.empty()) apply_config_file(*self, o->config_file);
    run_train(*o, *self);
  };
}

const CommandRegistrar registrar({"train", "Train a teacher, a uniform-k baseline or a distilled student", setup_train});

}  // namespace
}  // namespace ff::tools
