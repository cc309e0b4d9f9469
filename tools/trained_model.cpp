#include "tools/trained_model.h"

#include <fmt/core.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/checkpoint.h"
#include "engine/ops.h"
#include "tools/batch_tensors.h"

namespace ff::tools {
namespace {

const std::string& required(const StringMap& metadata, const std::string& key, const std::string& path) {
  auto it = metadata.find(key);
  if (it == metadata.end())
    throw std::runtime_error("checkpoint " + path + " lacks the metadata key '" + key +
                             "' (was it written by fewerframes train?)");
  return it->second;
}

// A value of the run's resolved flags, whatever JSON type the flag's text parsed as ("layout": 2018 is a
// number there, "sampler": "uniform" a string); empty when absent.
std::string config_text(const nlohmann::json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

int64_t config_integer(const nlohmann::json& config, const char* key, int64_t fallback, const std::string& path) {
  std::string text = config_text(config, key);
  if (text.empty()) return fallback;
  try {
    size_t used = 0;
    int64_t value = std::stoll(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  throw std::runtime_error("checkpoint " + path + ": config '" + key + "' is not an integer: " + text);
}

}  // namespace

TrainedModel::TrainedModel(const std::string& checkpoint, Device device, const FrameViewOverride& view)
    : path_(checkpoint), device_(device) {
  // The architecture must be known before the model that receives the tensors is built; the tensors
  // (optimizer state included, several times the model's size) are then read once, by load_checkpoint_into.
  if (!std::ifstream(path_, std::ios::binary)) throw std::runtime_error("cannot open checkpoint " + path_);
  metadata_ = read_safetensors_metadata(path_);
  mode_ = required(metadata_, "mode", path_);
  models::TrainingMode mode;
  try {
    mode = models::parse_training_mode(mode_);
  } catch (const std::exception& e) {
    throw std::runtime_error("checkpoint " + path_ + ": " + e.what());
  }

  NeXtVladConfig config;
  try {
    config = nextvlad_config_from_json(nlohmann::json::parse(required(metadata_, "model_config", path_)));
    validate(config);
  } catch (const std::exception& e) {
    throw std::runtime_error("checkpoint " + path_ + ": metadata 'model_config': " + e.what());
  }

  nlohmann::json run_config = nlohmann::json::object();
  if (auto it = metadata_.find("config"); it != metadata_.end()) {
    run_config = nlohmann::json::parse(it->second, nullptr, false);
    if (run_config.is_discarded() || !run_config.is_object())
      throw std::runtime_error("checkpoint " + path_ + ": metadata 'config' is not a JSON object");
  }

  std::string layout_name = config_text(run_config, "layout");
  try {
    layout_ = data::YouTube8MLayout::from_name(layout_name.empty() ? "2018" : layout_name);
  } catch (const std::exception& e) {
    throw std::runtime_error("checkpoint " + path_ + ": config 'layout': " + e.what());
  }
  layout_.num_classes = config.num_classes;
  layout_.frame_features.at(0).size = config.rgb_feature_size;
  layout_.frame_features.at(1).size = config.audio_feature_size;

  // The frames it reads: all of them for a teacher, the run's sampler otherwise; then the override.
  view_.max_frames = config_integer(run_config, "max-frames", config.max_frames, path_);
  sampler_seed_ = uint64_t(config_integer(run_config, "seed", 0, path_));
  std::string sampler = mode == models::TrainingMode::Teacher ? "all" : config_text(run_config, "sampler");
  int64_t k = mode == models::TrainingMode::Teacher ? 0 : config_integer(run_config, "k", 0, path_);
  if (!view.sampler.empty()) sampler = view.sampler;
  if (view.k > 0) {
    k = view.k;
    // --k alone on a teacher: the run's sampler if it names one, else uniform (train's default).
    if (view.sampler.empty() && sampler == "all") {
      std::string run_sampler = config_text(run_config, "sampler");
      sampler = run_sampler.empty() || run_sampler == "all" ? "uniform" : run_sampler;
    }
  }
  if (sampler.empty())
    throw std::runtime_error("checkpoint " + path_ + " (" + mode_ +
                             " mode) does not say which frame sampler it was trained with; give --sampler and --k");
  view_.kind = data::parse_frame_sampler(sampler);
  view_.k = view_.kind == data::FrameSampler::All ? 0 : k;
  if (view_.kind != data::FrameSampler::All && view_.k < 1)
    throw std::runtime_error("checkpoint " + path_ + ": the " + sampler + " sampler needs k >= 1; give --k");
  if (view_.max_frames < 1 || view_.max_frames > config.max_frames)
    throw std::runtime_error(fmt::format("checkpoint {}: max-frames {} is outside the model's [1, {}]", path_,
                                         view_.max_frames, config.max_frames));

  Generator initialisation(0);  // every value is overwritten by the checkpoint
  model_ = std::make_unique<NeXtVladModel>(config, initialisation, DType::Float32, device_);
  LoadOptions options;
  // The optimizer's slots and, in parallel mode, the co-trained teacher under "parallel_teacher/".
  options.allow_extra_tensors = true;
  load_checkpoint_into(path_, model_->parameters(), options);
}

TrainedModel::~TrainedModel() = default;

std::string TrainedModel::frame_view_description() const {
  if (view_.kind == data::FrameSampler::All) return fmt::format("all frames (max {})", view_.max_frames);
  return fmt::format("{} k={} (max {})", data::frame_sampler_name(view_.kind), view_.k, view_.max_frames);
}

Tensor TrainedModel::predict(const models::FrameInputs& frames) const {
  NoGradGuard no_grad;
  return sigmoid(model_->forward(frames.rgb, frames.audio, frames.frame_counts, false, generator_).logits);
}

data::LoaderStats TrainedModel::predict_files(const PredictOptions& options, const PredictionCallback& callback) const {
  if (options.batch_size < 1) throw std::invalid_argument("--batch-size must be >= 1");
  data::LoaderOptions l;
  l.patterns = options.patterns;
  l.layout = layout_;
  l.views = {{"frames", view_}};
  l.batch_size = options.batch_size;
  l.reader_threads = options.reader_threads;
  l.shuffle_buffer = 0;  // file order, every video once
  l.seed = sampler_seed_;
  l.reader = options.reader;
  data::Loader loader(l);
  data::Batch batch;
  std::vector<float> scores;
  while (loader.next(batch)) {
    models::FrameInputs frames = view_tensors(batch.views.front(), layout_, batch.size, device_);
    scores = predict(frames).to(Device::cpu()).to_vector<float>();
    callback(batch, scores);
  }
  return loader.stats();
}

}  // namespace ff::tools
