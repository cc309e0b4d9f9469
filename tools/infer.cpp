// `fewerframes infer`: runs a checkpoint over frame-level TFRecords and writes the Kaggle submission CSV
// (tools/kaggle_csv.h): per video its top-k classes as `label score` pairs by descending score. The file is
// written atomically: it appears complete or not at all.
#include <fmt/core.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "engine/progress.h"
#include "tools/command.h"
#include "tools/kaggle_csv.h"
#include "tools/trained_model.h"

namespace ff::tools {
namespace {

struct InferOptions {
  std::string checkpoint, output;
  std::vector<std::string> data;
  std::string device = "cpu", sampler, compression = "none";
  int64_t k = 0, batch_size = 160, top_k = 20;
  int reader_threads = 2;
};

void run_infer(const InferOptions& o) {
  TrainedModel model(o.checkpoint, parse_device(o.device), {o.sampler, o.k});
  KaggleCsvWriter csv(o.output, o.top_k);
  PredictOptions predict;
  predict.patterns = o.data;
  predict.batch_size = o.batch_size;
  predict.reader_threads = o.reader_threads;
  predict.reader.compression = data::parse_compression(o.compression);
  std::unordered_set<std::string> written;  // a CSV holds one row per video: a repeated id is an error
  Progress progress("infer", 0, "videos");
  data::LoaderStats stats = model.predict_files(predict, [&](const data::Batch& batch, const std::vector<float>& scores) {
    const int64_t num_classes = model.num_classes();
    for (int64_t i = 0; i < batch.size; ++i) {
      const std::string& id = batch.ids[size_t(i)];
      if (!written.insert(id).second)
        throw std::runtime_error("video id " + id + " appears twice in the files of --data; the CSV holds one row per video");
      csv.add(id, scores.data() + i * num_classes, num_classes);
    }
    progress.advance(batch.size);
  });
  progress.finish();
  if (csv.videos() == 0) throw std::runtime_error("no video with frames in the files of --data; nothing written");
  csv.commit();
  fmt::print("wrote {} videos to {} (top {} classes each; {} mode, {})", csv.videos(), o.output,
             std::min<int64_t>(o.top_k, model.num_classes()), model.mode(), model.frame_view_description());
  if (stats.empty_videos_skipped) fmt::print("; {} videos without frames skipped", stats.empty_videos_skipped);
  fmt::print("\n");
}

CommandAction setup_infer(CLI::App& app) {
  auto o = std::make_shared<InferOptions>();
  app.add_option("--checkpoint", o->checkpoint, "checkpoint written by fewerframes train")->required();
  app.add_option("--data", o->data, "frame-level TFRecord globs")->required();
  app.add_option("--output", o->output, "Kaggle CSV to write (VideoId,LabelConfidencePairs)")->required();
  app.add_option("--top-k", o->top_k, "label-score pairs per video")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--device", o->device, "cpu or cuda[:N]")->capture_default_str();
  app.add_option("--batch-size", o->batch_size, "videos per forward pass")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--sampler", o->sampler, "frame sampler instead of the run's (all, uniform, ...)");
  app.add_option("--k", o->k, "frames the sampler keeps instead of the run's k")->check(CLI::PositiveNumber);
  app.add_option("--compression", o->compression, "none, gzip or zlib")
      ->check(CLI::IsMember({"none", "gzip", "zlib"}))
      ->capture_default_str();
  app.add_option("--reader-threads", o->reader_threads, "loader threads")->check(CLI::Range(1, 256))->capture_default_str();
  return [o] { run_infer(*o); };
}

const CommandRegistrar registrar({"infer", "Write a Kaggle predictions CSV (top-k label-score pairs per video) from a "
                                           "checkpoint", setup_infer});

}  // namespace
}  // namespace ff::tools
