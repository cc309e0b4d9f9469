// `fewerframes eval`: the YouTube-8M metrics (GAP@20, mAP, Hit@1, PERR; engine/metrics.h) of a checkpoint
// on frame-level TFRecords, or of a Kaggle predictions CSV (tools/kaggle_csv.h) against the labels of
// TFRecords, and the same metrics on the rare and the frequent classes (the supplementary's Table 2:
// bottom-r and top-r classes by training frequency; engine/metrics_class_subsets.h).
//
// A predictions CSV holds each video's top-k pairs only: every class it does not list scores 0. Since the
// metrics keep only each video's top-k classes anyway, a CSV written by `fewerframes infer` with the same
// --top-k scores as the checkpoint does (up to the 6 digits the CSV keeps).
#include <fmt/core.h>

#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/file_patterns.h"
#include "data/youtube8m_class_counts.h"
#include "engine/metrics.h"
#include "engine/metrics_class_subsets.h"
#include "engine/progress.h"
#include "tools/command.h"
#include "tools/kaggle_csv.h"
#include "tools/trained_model.h"
#include "tools/video_labels.h"

namespace ff::tools {
namespace {

struct EvalOptions {
  std::string checkpoint, predictions;
  std::vector<std::string> data;
  std::string vocabulary, count_files;
  std::string device = "cpu", sampler, layout = "2018", compression = "none";
  int64_t k = 0, classes = 0, batch_size = 160, top_k = 20;
  std::vector<int64_t> group_sizes = kTable2ClassCounts;
  int reader_threads = 2;
  bool json = false, count_classes_without_positives = false, allow_missing = false;
};

// The accumulated metrics and what was evaluated, for the report.
struct Evaluation {
  std::unique_ptr<MetricsAccumulator> metrics;
  data::YouTube8MLayout layout;
  nlohmann::json source;  // checkpoint or predictions, and how the scores were made
  int64_t empty_videos_skipped = 0;
  int64_t videos_missing = 0;  // predictions: videos of the data without a row, left out (--allow-missing)
  int64_t unused_rows = 0;     // predictions: rows whose video is not in the data
};

MetricsOptions metrics_options(const EvalOptions& o) {
  MetricsOptions options;
  options.count_classes_without_positives = o.count_classes_without_positives;
  return options;
}

data::TFRecordReaderOptions reader_options(const EvalOptions& o) {
  data::TFRecordReaderOptions reader;
  reader.compression = data::parse_compression(o.compression);
  return reader;
}

std::string data_text(const std::vector<std::string>& patterns) {
  std::string text;
  for (const std::string& p : patterns) text += (text.empty() ? "" : " ") + p;
  return text;
}

Evaluation evaluate_checkpoint(const EvalOptions& o) {
  TrainedModel model(o.checkpoint, parse_device(o.device), {o.sampler, o.k});
  Evaluation out;
  out.layout = model.layout();
  out.metrics = std::make_unique<MetricsAccumulator>(model.num_classes(), o.top_k, metrics_options(o));
  PredictOptions predict;
  predict.patterns = o.data;
  predict.batch_size = o.batch_size;
  predict.reader_threads = o.reader_threads;
  predict.reader = reader_options(o);
  Progress progress("eval", 0, "videos");
  data::LoaderStats stats = model.predict_files(predict, [&](const data::Batch& batch, const std::vector<float>& scores) {
    out.metrics->add(scores.data(), batch.multi_hot.data(), batch.size);
    progress.advance(batch.size);
  });
  progress.finish();
  out.empty_videos_skipped = int64_t(stats.empty_videos_skipped);
  out.source = {{"checkpoint", o.checkpoint}, {"mode", model.mode()}, {"frames", model.frame_view_description()}};
  return out;
}

Evaluation evaluate_predictions(const EvalOptions& o) {
  Evaluation out;
  out.layout = data::YouTube8MLayout::from_name(o.layout);
  if (o.classes > 0) out.layout.num_classes = o.classes;
  const int64_t num_classes = out.layout.num_classes;
  KagglePredictions predictions = read_kaggle_csv(o.predictions, num_classes);
  out.metrics = std::make_unique<MetricsAccumulator>(num_classes, o.top_k, metrics_options(o));

  // Dense rows, a block at a time: the accumulator takes score and label matrices.
  constexpr int64_t kBlock = 256;
  std::vector<float> scores(size_t(kBlock * num_classes)), labels(size_t(kBlock * num_classes));
  int64_t rows = 0;
  auto flush = [&] {
    out.metrics->add(scores.data(), labels.data(), rows);
    std::fill(scores.begin(), scores.end(), 0.0f);
    std::fill(labels.begin(), labels.end(), 0.0f);
    rows = 0;
  };
  std::vector<char> used(predictions.rows.size(), 0);
  Progress progress("eval", 0, "videos");
  for_each_labeled_video(data::expand_file_patterns(o.data), out.layout, reader_options(o), [&](const LabeledVideo& video) {
    if (video.frames == 0) {  // as the loader does for a checkpoint: a video without frames is not scored
      ++out.empty_videos_skipped;
      return;
    }
    const KagglePredictions::Row* row = predictions.find(std::string(video.id));
    if (!row) {
      if (o.allow_missing) {
        ++out.videos_missing;
        return;
      }
      throw std::runtime_error(fmt::format(
          "video {} ({}: offset {}) has no row in the predictions {} (--allow-missing leaves such videos out)",
          video.id, video.file, video.offset, o.predictions));
    }
    used[size_t(row - predictions.rows.data())] = 1;
    float* score_row = scores.data() + rows * num_classes;
    for (const LabelScore& pair : row->pairs) score_row[pair.label] = pair.score;
    float* label_row = labels.data() + rows * num_classes;
    for (int32_t label : *video.labels) label_row[label] = 1.0f;
    if (++rows == kBlock) flush();
    progress.advance(1);
  });
  flush();
  progress.finish();
  for (char u : used) out.unused_rows += !u;
  out.source = {{"predictions", o.predictions}};
  return out;
}

struct ClassFrequencies {
  std::vector<int64_t> counts;  // empty: none available
  std::string source;
};

ClassFrequencies class_frequencies(const EvalOptions& o, const data::YouTube8MLayout& layout) {
  if (!o.vocabulary.empty()) return {vocabulary_class_counts(o.vocabulary, layout.num_classes), o.vocabulary};
  if (!o.count_files.empty()) {
    Progress progress("count classes", 0, "videos");
    std::vector<int64_t> counts = count_class_labels({o.count_files}, layout, reader_options(o), &progress);
    progress.finish();
    return {counts, "labels of " + o.count_files};
  }
  if (layout.num_classes == int64_t(data::youtube8m_class_counts().size()))
    return {data::youtube8m_class_counts(), "YouTube-8M 2018 vocabulary (built in)"};
  return {};
}

// NaN (no class to average) prints as n/a and goes to JSON as null.
std::string metric_text(double value) { return std::isnan(value) ? "n/a" : fmt::format("{:.6f}", value); }
nlohmann::json metric_json(double value) { return std::isnan(value) ? nlohmann::json(nullptr) : nlohmann::json(value); }

void run_eval(const EvalOptions& o, const CLI::App& app) {
  if (o.checkpoint.empty() == o.predictions.empty())
    throw std::invalid_argument("give exactly one of --checkpoint (a model to run) and --predictions (a Kaggle CSV)");
  if (!o.vocabulary.empty() && !o.count_files.empty())
    throw std::invalid_argument("give at most one of --vocabulary and --count-files (both set class frequencies)");
  auto given = [&](const char* flag) { return app.get_option(flag)->count() > 0; };
  for (const char* flag : {"--sampler", "--k", "--batch-size", "--device"})
    if (!o.predictions.empty() && given(flag))
      throw std::invalid_argument(std::string(flag) + " applies to --checkpoint, not to --predictions");
  for (const char* flag : {"--layout", "--classes", "--allow-missing"})
    if (!o.checkpoint.empty() && given(flag))
      throw std::invalid_argument(std::string(flag) + " applies to --predictions; a checkpoint knows its layout");
  for (int64_t r : o.group_sizes)
    if (r < 1) throw std::invalid_argument("--group-sizes: every r must be >= 1, got " + std::to_string(r));

  Evaluation report = o.checkpoint.empty() ? evaluate_predictions(o) : evaluate_checkpoint(o);
  const MetricsAccumulator* metrics = report.metrics.get();
  if (metrics->examples() == 0)
    throw std::runtime_error("no video to evaluate in the files of --data " + data_text(o.data));

  const MetricsResult m = metrics->result();
  const ClassFrequencies frequencies = class_frequencies(o, report.layout);
  std::vector<FrequencyGroupMetrics> groups;
  if (!frequencies.counts.empty()) groups = rare_and_frequent_metrics(*metrics, frequencies.counts, o.group_sizes);

  if (o.json) {
    nlohmann::json out = report.source;
    out["data"] = o.data;
    out["videos"] = m.examples;
    out["gap"] = m.gap;
    out["map"] = metric_json(m.map);
    out["hit_at_1"] = m.hit_at_1;
    out["perr"] = m.perr;
    out["top_k"] = metrics->top_k();
    out["num_classes"] = metrics->num_classes();
    out["num_positives"] = m.num_positives;
    out["map_classes"] = m.map_classes;
    out["empty_videos_skipped"] = report.empty_videos_skipped;
    if (!o.predictions.empty()) {
      out["videos_missing"] = report.videos_missing;
      out["unused_rows"] = report.unused_rows;
    }
    out["class_frequency"] = frequencies.counts.empty() ? nlohmann::json(nullptr) : nlohmann::json(frequencies.source);
    out["frequency_groups"] = nlohmann::json::array();
    for (const FrequencyGroupMetrics& g : groups)
      out["frequency_groups"].push_back({{"group", frequency_group_name(g.group)}, {"r", g.r},
                                         {"gap", g.metrics.gap}, {"map", metric_json(g.metrics.map)},
                                         {"map_contribution", g.metrics.map_contribution},
                                         {"map_classes", g.metrics.map_classes},
                                         {"num_positives", g.metrics.num_positives}});
    fmt::print("{}\n", out.dump());
    return;
  }

  if (!o.checkpoint.empty())
    fmt::print("checkpoint {} ({} mode, {})\n", o.checkpoint, report.source["mode"].get<std::string>(),
               report.source["frames"].get<std::string>());
  else
    fmt::print("predictions {}\n", o.predictions);
  fmt::print("{} videos, {} classes, {} positive labels", m.examples, metrics->num_classes(), m.num_positives);
  if (report.empty_videos_skipped) fmt::print("; {} videos without frames skipped", report.empty_videos_skipped);
  if (report.videos_missing) fmt::print("; {} videos without a prediction row left out", report.videos_missing);
  if (report.unused_rows) fmt::print("; {} prediction rows for videos not in the data", report.unused_rows);
  fmt::print("\n");
  fmt::print("GAP@{:<3} {}\n", metrics->top_k(), metric_text(m.gap));
  fmt::print("mAP     {}  (mean over {} classes{})\n", metric_text(m.map), m.map_classes,
             o.count_classes_without_positives ? "" : " with positives");
  fmt::print("Hit@1   {}\n", metric_text(m.hit_at_1));
  fmt::print("PERR    {}\n", metric_text(m.perr));
  if (frequencies.counts.empty()) {
    fmt::print("rare/frequent classes: no class frequencies for {} classes (give --vocabulary or --count-files)\n",
               metrics->num_classes());
    return;
  }
  fmt::print("\nrare (bottom-r) and frequent (top-r) classes by training frequency ({}):\n", frequencies.source);
  if (groups.empty()) {
    fmt::print("  no r of --group-sizes is <= {} classes\n", metrics->num_classes());
    return;
  }
  // mAP share: the group's per-class APs summed over the overall mAP's class count (Table 2's "mAP").
  fmt::print("  {:<15} {:>9} {:>9} {:>10} {:>10}\n", "classes", "GAP", "mAP", "mAP share", "positives");
  for (const FrequencyGroupMetrics& g : groups)
    fmt::print("  {:<15} {:>9} {:>9} {:>10} {:>10}\n",
               fmt::format("{} {}", g.group == FrequencyGroup::rare ? "bottom" : "top", g.r), metric_text(g.metrics.gap),
               metric_text(g.metrics.map), metric_text(g.metrics.map_contribution), g.metrics.num_positives);
}

CommandAction setup_eval(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  app.add_option("--checkpoint", o->checkpoint, "checkpoint written by fewerframes train");
  app.add_option("--predictions", o->predictions, "Kaggle CSV (VideoId,LabelConfidencePairs) to score instead");
  app.add_option("--data", o->data, "TFRecord globs: frame-level for --checkpoint, frame- or video-level for "
                                    "--predictions")
      ->required();
  app.add_flag("--json", o->json, "print one JSON object instead of the table");
  app.add_option("--vocabulary", o->vocabulary, "class frequencies from this vocabulary.csv (TrainVideoCount)");
  app.add_option("--count-files", o->count_files, "class frequencies by counting the labels of these TFRecords (glob)");
  app.add_option("--group-sizes", o->group_sizes, "r of the bottom-r / top-r class groups")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--top-k", o->top_k, "classes kept per video (GAP@k)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_flag("--count-classes-without-positives", o->count_classes_without_positives,
               "mAP over all classes, those without positives as AP 0 (older starter code)");
  app.add_option("--device", o->device, "checkpoint: cpu or cuda[:N]")->capture_default_str();
  app.add_option("--batch-size", o->batch_size, "checkpoint: videos per forward pass")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--sampler", o->sampler, "checkpoint: frame sampler instead of the run's (all, uniform, ...)");
  app.add_option("--k", o->k, "checkpoint: frames the sampler keeps instead of the run's k")->check(CLI::PositiveNumber);
  app.add_option("--layout", o->layout, "predictions: 2018 or 2017")
      ->check(CLI::IsMember({"2018", "2017"}))
      ->capture_default_str();
  app.add_option("--classes", o->classes, "predictions: classes (default: the layout's)")->check(CLI::PositiveNumber);
  app.add_flag("--allow-missing", o->allow_missing, "predictions: leave out videos without a row instead of failing");
  app.add_option("--compression", o->compression, "none, gzip or zlib")
      ->check(CLI::IsMember({"none", "gzip", "zlib"}))
      ->capture_default_str();
  app.add_option("--reader-threads", o->reader_threads, "checkpoint: loader threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  const CLI::App* self = &app;
  return [o, self] { run_eval(*o, *self); };
}

const CommandRegistrar registrar({"eval", "GAP, mAP, Hit@1, PERR and rare/frequent classes of a checkpoint or a "
                                          "predictions CSV", setup_eval});

}  // namespace
}  // namespace ff::tools
