// A model written by `fewerframes train`, loaded from its checkpoint for evaluation and inference.
//
// The architecture comes only from the checkpoint's metadata "model_config" (models/nextvlad_config.h),
// so whatever the training run configured is rebuilt exactly. The frames the model reads follow its
// training mode ("mode"): a teacher reads every frame (up to max-frames); uniform, student and parallel
// checkpoints read k frames chosen by the run's sampler ("sampler", "k", "max-frames" and the sampler's
// "seed" from the metadata "config", the resolved flags of the run). A FrameViewOverride replaces the
// sampler or k, e.g. to evaluate a student on k = 5 frames or on all frames ("all").
//
// A parallel-mode checkpoint also holds the co-trained teacher under "parallel_teacher/": the student is
// the model the checkpoint stands for, and the teacher's tensors are ignored, as are the optimizer's.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "data/loader.h"
#include "engine/device.h"
#include "engine/random.h"
#include "engine/safetensors.h"
#include "models/nextvlad.h"
#include "models/trainer.h"

namespace ff::tools {

// Empty sampler / k = 0: the checkpoint's own.
struct FrameViewOverride {
  std::string sampler;
  int64_t k = 0;
};

struct PredictOptions {
  std::vector<std::string> patterns;  // frame-level TFRecord globs
  int64_t batch_size = 160;
  int reader_threads = 2;
  data::TFRecordReaderOptions reader;
};

// One batch of predictions: batch.ids, batch.multi_hot [size, C] labels, and scores [size, C] (sigmoid).
using PredictionCallback = std::function<void(const data::Batch& batch, const std::vector<float>& scores)>;

class TrainedModel {
 public:
  // Throws std::runtime_error naming the checkpoint when it cannot be read, lacks "mode" or
  // "model_config", or its tensors do not fit the architecture it describes.
  TrainedModel(const std::string& checkpoint, Device device, const FrameViewOverride& view = {});
  ~TrainedModel();

  const std::string& path() const { return path_; }
  const std::string& mode() const { return mode_; }  // the training mode: teacher, uniform, student, parallel
  const NeXtVladConfig& config() const { return model_->config(); }
  int64_t num_classes() const { return config().num_classes; }
  // The record layout the model reads: the run's ("layout" in the config, 2018 by default) with the
  // model's feature sizes and classes.
  const data::YouTube8MLayout& layout() const { return layout_; }
  const data::SamplerSpec& frame_view() const { return view_; }
  std::string frame_view_description() const;  // "all frames (max 300)", "uniform k=10 (max 300)"
  const StringMap& metadata() const { return metadata_; }

  // Sigmoid scores [B, C] on the model's device, inference mode, no gradients.
  Tensor predict(const models::FrameInputs& frames) const;

  // Streams every video of the files once, in file order, through the model, batch by batch. Videos
  // without frames are skipped (as in training); the returned stats count them.
  data::LoaderStats predict_files(const PredictOptions& options, const PredictionCallback& callback) const;

 private:
  std::string path_;
  std::string mode_;
  StringMap metadata_;
  Device device_;
  data::YouTube8MLayout layout_;
  data::SamplerSpec view_;
  uint64_t sampler_seed_ = 0;
  std::unique_ptr<NeXtVladModel> model_;
  mutable Generator generator_;  // forward() takes one; inference mode draws nothing from it
};

}  // namespace ff::tools
