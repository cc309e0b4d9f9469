// `fewerframes inspect FILES...`: what YouTube-8M TFRecord files hold. Per record the id, the labels
// (with names when a vocabulary is given), the frame count and feature sizes; then a summary. --json
// prints one JSON object per record; --check verifies every record and stops at the first problem.
#include <fmt/core.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/file_patterns.h"
#include "data/tfrecord.h"
#include "data/vocabulary.h"
#include "data/youtube8m.h"
#include "engine/progress.h"
#include "tools/command.h"

namespace ff::tools {
namespace {

struct InspectOptions {
  std::vector<std::string> files;
  std::string vocabulary;
  std::string layout = "2018";
  std::string level = "auto";  // frame, video, auto (from each file's first record)
  std::string compression = "none";
  std::string feature_names, feature_sizes;  // the starter code's --feature_names / --feature_sizes
  bool json = false;
  bool check = false;
  bool skip_corrupt = false;  // skip records whose CRC fails (and the rest of an unframeable file), counted
  int64_t limit = -1;  // records per file to list; -1 all
};

struct Summary {
  int64_t files = 0, records = 0, frame_level = 0, video_level = 0, empty_videos = 0, corrupt_skipped = 0;
  int64_t labels = 0, min_labels = INT64_MAX, max_labels = 0;
  int64_t frames = 0, min_frames = INT64_MAX, max_frames = 0;
  std::map<int32_t, int64_t> class_histogram;

  void add(const std::vector<int32_t>& video_labels, int64_t video_frames, bool frame_level_record) {
    ++records;
    (frame_level_record ? frame_level : video_level) += 1;
    labels += int64_t(video_labels.size());
    min_labels = std::min(min_labels, int64_t(video_labels.size()));
    max_labels = std::max(max_labels, int64_t(video_labels.size()));
    for (int32_t l : video_labels) ++class_histogram[l];
    if (frame_level_record) {
      frames += video_frames;
      min_frames = std::min(min_frames, video_frames);
      max_frames = std::max(max_frames, video_frames);
      empty_videos += video_frames == 0;
    }
  }
};

std::string label_text(const std::vector<int32_t>& labels, const data::Vocabulary* vocabulary) {
  std::string text;
  for (int32_t l : labels) {
    if (!text.empty()) text += ' ';
    text += std::to_string(l);
    if (vocabulary && size_t(l) < vocabulary->size()) text += " (" + (*vocabulary)[size_t(l)].name + ")";
  }
  return text;
}

// A frame-level record has the layout's frame feature lists; a video-level one its float features.
bool looks_frame_level(std::string_view payload, const data::YouTube8MLayout& layout, const std::string& file,
                       uint64_t offset) {
  data::FrameLevelView view;
  try {
    data::decode_frame_level(payload, layout, view, {file, offset});
    return true;
  } catch (const data::DataError& frame_error) {
    try {
      data::decode_video_level(payload, layout, {file, offset});
      return false;
    } catch (const data::DataError&) {
      throw frame_error;  // neither: report it as the frame-level problem
    }
  }
}

void inspect_file(const std::string& file, const InspectOptions& o, const data::YouTube8MLayout& layout,
                  const data::Vocabulary* vocabulary, Summary& summary, Progress* progress) {
  data::TFRecordReaderOptions reader_options;
  reader_options.compression = data::parse_compression(o.compression);
  reader_options.skip_corrupt = o.skip_corrupt;
  data::TFRecordReader reader(file, reader_options);
  data::FrameLevelView view;
  std::string_view payload;
  int level = o.level == "frame" ? 1 : o.level == "video" ? 0 : -1;
  int64_t listed = 0;
  ++summary.files;
  while (reader.next(payload)) {
    uint64_t offset = reader.record_offset();
    if (level < 0) level = looks_frame_level(payload, layout, file, offset) ? 1 : 0;
    std::string id;
    std::vector<int32_t> labels;
    int64_t frames = 0;
    std::vector<data::FeatureSpec> features;
    if (level == 1) {
      data::decode_frame_level(payload, layout, view, {file, offset});
      id.assign(view.id);
      labels = view.labels;
      frames = view.num_frames;
      features = layout.frame_features;
    } else {
      data::DecodedVideoLevel v = data::decode_video_level(payload, layout, {file, offset});
      id = v.id;
      labels = v.labels;
      frames = 1;  // the starter code's video-level reader counts one "frame"
      features = layout.video_features;
    }
    summary.add(labels, frames, level == 1);
    if (progress) progress->advance(1);
    if (o.check || (o.limit >= 0 && listed >= o.limit)) continue;
    ++listed;
    if (o.json) {
      nlohmann::json j = {{"file", file}, {"offset", offset}, {"id", id}, {"labels", labels}, {"frames", frames},
                          {"level", level == 1 ? "frame" : "video"}};
      for (const data::FeatureSpec& f : features) j["features"][f.name] = f.size;
      if (vocabulary) {
        std::vector<std::string> names;
        for (int32_t l : labels) names.push_back(size_t(l) < vocabulary->size() ? (*vocabulary)[size_t(l)].name : "");
        j["label_names"] = names;
      }
      std::cout << j.dump() << '\n';
    } else {
      std::string sizes;
      for (const data::FeatureSpec& f : features) sizes += fmt::format(" {}={}", f.name, f.size);
      fmt::print("{}:{} id={} frames={}{} labels=[{}]\n", file, offset, id, frames, sizes, label_text(labels, vocabulary));
    }
  }
  summary.corrupt_skipped += int64_t(reader.corrupt_records_skipped());
}

void print_summary(const Summary& s, const data::Vocabulary* vocabulary) {
  fmt::print("\n{} records in {} files ({} frame-level, {} video-level)\n", s.records, s.files, s.frame_level,
             s.video_level);
  if (s.records == 0) return;
  fmt::print("labels per video: mean {:.2f}, min {}, max {}; {} distinct classes\n",
             double(s.labels) / double(s.records), s.min_labels, s.max_labels, s.class_histogram.size());
  if (s.frame_level > 0)
    fmt::print("frames per video: mean {:.1f}, min {}, max {}; {} videos without frames\n",
               double(s.frames) / double(s.frame_level), s.min_frames, s.max_frames, s.empty_videos);
  std::vector<std::pair<int64_t, int32_t>> by_count;
  for (auto [label, count] : s.class_histogram) by_count.push_back({count, label});
  std::sort(by_count.begin(), by_count.end(), [](auto a, auto b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  fmt::print("most frequent classes:\n");
  for (size_t i = 0; i < std::min<size_t>(10, by_count.size()); ++i) {
    auto [count, label] = by_count[i];
    std::string name = vocabulary && size_t(label) < vocabulary->size() ? (*vocabulary)[size_t(label)].name : "";
    fmt::print("  {:>6} {:>8} videos {:5.1f}%  {}\n", label, count, 100.0 * double(count) / double(s.records), name);
  }
  int64_t singletons = 0;
  for (auto [count, label] : by_count) singletons += count == 1;
  fmt::print("classes seen once: {}\n", singletons);
}

void run_inspect(const InspectOptions& o) {
  data::YouTube8MLayout layout = data::YouTube8MLayout::from_name(o.layout);
  if (!o.feature_names.empty() || !o.feature_sizes.empty()) {
    std::vector<data::FeatureSpec> specs = data::parse_feature_specs(o.feature_names, o.feature_sizes);
    if (o.level == "video")
      layout.video_features = specs;
    else if (o.level == "frame")
      layout.frame_features = specs;
    else
      throw std::invalid_argument("--feature-names needs --level frame or --level video");
  }
  std::unique_ptr<data::Vocabulary> vocabulary;
  if (!o.vocabulary.empty()) vocabulary = std::make_unique<data::Vocabulary>(data::load_vocabulary(o.vocabulary));
  std::vector<std::string> files = data::expand_file_patterns(o.files);
  Summary summary;
  // Listing is its own progress; a --check of many large files reports records/s as it goes.
  std::unique_ptr<Progress> progress = o.check ? std::make_unique<Progress>("check", 0, "records") : nullptr;
  for (const std::string& file : files) inspect_file(file, o, layout, vocabulary.get(), summary, progress.get());
  if (progress) progress->finish();
  if (o.skip_corrupt)
    fmt::print(stderr, "skipped {} corrupt record(s) or damaged file tail(s)\n", summary.corrupt_skipped);
  if (o.check)
    fmt::print("ok: {} records in {} files verified (framing, CRC32C, schema, labels in [0, {})){}\n", summary.records,
               summary.files, layout.num_classes,
               summary.corrupt_skipped ? fmt::format("; {} corrupt skipped", summary.corrupt_skipped) : "");
  else if (!o.json)
    print_summary(summary, vocabulary.get());
}

CommandAction setup_inspect(CLI::App& app) {
  auto o = std::make_shared<InspectOptions>();
  app.add_option("files", o->files, "TFRecord files or globs")->required();
  app.add_option("--vocabulary", o->vocabulary, "vocabulary.csv for label names")->check(CLI::ExistingFile);
  app.add_option("--layout", o->layout, "2018 or 2017")->check(CLI::IsMember({"2018", "2017"}))->capture_default_str();
  app.add_option("--level", o->level, "frame, video, or auto (decided by each file's first record)")
      ->check(CLI::IsMember({"frame", "video", "auto"}))
      ->capture_default_str();
  app.add_option("--compression", o->compression, "none, gzip or zlib")
      ->check(CLI::IsMember({"none", "gzip", "zlib"}))
      ->capture_default_str();
  app.add_option("--feature-names", o->feature_names, "feature names, e.g. rgb,audio (with --level)");
  app.add_option("--feature-sizes", o->feature_sizes, "their sizes, e.g. 1024,128");
  app.add_flag("--json", o->json, "one JSON object per record (file, offset, id, labels, frames, level, features)");
  app.add_flag("--check", o->check, "verify every record; exit non-zero at the first problem, naming file and offset");
  app.add_flag("--skip-corrupt", o->skip_corrupt,
               "skip records whose CRC fails (and the rest of a file whose framing is lost), and report the count");
  app.add_option("--limit", o->limit, "list at most this many records per file (the summary counts all)");
  return [o] { run_inspect(*o); };
}

const CommandRegistrar registrar({"inspect", "Show and verify the records of YouTube-8M TFRecord files", setup_inspect});

}  // namespace
}  // namespace ff::tools
