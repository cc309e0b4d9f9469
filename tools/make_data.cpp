// `fewerframes make-data`: synthetic YouTube-8M in the real layout and naming, so every command runs with
// no download. Frame-level shards go to OUT/frame/, video-level shards to OUT/video/, named as the real
// files (train0000.tfrecord, validate0000.tfrecord, test0000.tfrecord). The videos come from the
// generative model of data/synthetic_video.h (docs/synthetic_data.md); the same seed writes the same bytes.
#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/synthetic_records.h"
#include "data/synthetic_video.h"
#include "data/tfrecord.h"
#include "data/vocabulary.h"
#include "data/youtube8m.h"
#include "data/youtube8m_class_counts.h"
#include "tools/command.h"
#include "tools/parallel_shards.h"
#include "engine/progress.h"

namespace ff::tools {
namespace {

struct MakeDataOptions {
  std::string out;
  int64_t train = 2000, validate = 500, test = 0;
  int64_t videos_per_shard = 250;
  std::string level = "both";  // frame, video, both
  std::string layout = "2018";
  int64_t classes = 0;         // 0: the layout's (3862 for 2018, 4716 for 2017)
  std::string vocabulary;      // class frequencies from this vocabulary.csv instead of the built-in 2018 counts
  int64_t min_frames = 60, max_frames = 300;
  uint64_t seed = 0;
  std::string compression = "none";
  int threads = 0;  // 0: all cores
};

struct Shard {
  std::string split;
  int64_t number = 0;
  uint64_t first_video = 0;  // global index: ids are unique across splits
  int64_t videos = 0;
};

std::vector<int64_t> class_frequencies(const MakeDataOptions& o, int64_t num_classes) {
  std::vector<int64_t> counts;
  if (!o.vocabulary.empty()) {
    for (const data::VocabularyEntry& e : data::load_vocabulary(o.vocabulary).entries)
      counts.push_back(e.train_video_count);
  } else {
    counts = data::youtube8m_class_counts();
  }
  if (num_classes > int64_t(counts.size())) return {};  // more classes than the vocabulary: a Zipf tail
  return counts;
}

void run_make_data(const MakeDataOptions& o) {
  if (o.train < 0 || o.validate < 0 || o.test < 0) throw std::invalid_argument("--train/--validate/--test must be >= 0");
  if (o.train + o.validate + o.test == 0) throw std::invalid_argument("nothing to write: every split has 0 videos");
  bool frame = o.level == "frame" || o.level == "both", video = o.level == "video" || o.level == "both";
  data::YouTube8MLayout layout = data::YouTube8MLayout::from_name(o.layout);
  if (o.classes > 0) layout.num_classes = o.classes;
  data::Compression compression = data::parse_compression(o.compression);

  data::SyntheticVideoConfig config;
  config.num_classes = layout.num_classes;
  config.rgb_size = layout.frame_features.at(0).size;
  config.audio_size = layout.frame_features.at(1).size;
  config.min_frames = o.min_frames;
  config.max_frames = o.max_frames;
  config.seed = o.seed;
  config.class_counts = class_frequencies(o, layout.num_classes);
  const data::SyntheticVideoGenerator generator(config);

  std::vector<Shard> shards;
  uint64_t next_video = 0;
  for (auto [split, count] : {std::pair<std::string, int64_t>{"train", o.train}, {"validate", o.validate}, {"test", o.test}}) {
    for (int64_t first = 0, number = 0; first < count; first += o.videos_per_shard, ++number)
      shards.push_back({split, number, next_video + uint64_t(first), std::min(o.videos_per_shard, count - first)});
    next_video += uint64_t(count);
  }
  if (shards.size() > 10000) throw std::invalid_argument("more than 10,000 shards per run; raise --videos-per-shard");
  std::filesystem::path out(o.out);
  if (frame) std::filesystem::create_directories(out / "frame");
  if (video) std::filesystem::create_directories(out / "video");

  ff::Progress progress("make-data", int64_t(next_video), "videos");
  std::atomic<uint64_t> frame_bytes{0}, video_bytes{0};
  write_shards_in_parallel(int64_t(shards.size()), o.threads, [&](int64_t s) {
    const Shard& shard = shards[size_t(s)];
    std::string name = fmt::format("{}{:04d}.tfrecord", shard.split, shard.number);
    std::unique_ptr<data::TFRecordWriter> frame_writer, video_writer;
    if (frame) frame_writer = std::make_unique<data::TFRecordWriter>((out / "frame" / name).string(), compression);
    if (video) video_writer = std::make_unique<data::TFRecordWriter>((out / "video" / name).string(), compression);
    data::SyntheticVideo v;
    for (int64_t i = 0; i < shard.videos; ++i) {
      generator.generate(shard.first_video + uint64_t(i), v);
      if (frame_writer) frame_writer->write(data::encode_frame_level(data::frame_level_record(v), layout));
      if (video_writer) video_writer->write(data::encode_video_level(data::video_level_record(v), layout));
      progress.advance(1);
    }
    if (frame_writer) {
      frame_writer->close();
      frame_bytes += frame_writer->bytes_written();
    }
    if (video_writer) {
      video_writer->close();
      video_bytes += video_writer->bytes_written();
    }
  });
  progress.finish();

  fmt::print("wrote {} videos ({} train, {} validate, {} test) in {} shards per level to {}\n", next_video, o.train,
             o.validate, o.test, shards.size(), o.out);
  if (frame) fmt::print("  frame-level: {}/frame/  {:.1f} MB\n", o.out, double(frame_bytes) / 1e6);
  if (video) fmt::print("  video-level: {}/video/  {:.1f} MB\n", o.out, double(video_bytes) / 1e6);
  fmt::print("  layout {} ({} classes), seed {}, compression {}\n", o.layout, layout.num_classes, o.seed,
             data::compression_name(compression));
}

CommandAction setup_make_data(CLI::App& app) {
  auto o = std::make_shared<MakeDataOptions>();
  app.add_option("--out", o->out, "output folder (frame/ and video/ are created in it)")->required();
  app.add_option("--train", o->train, "training videos")->capture_default_str();
  app.add_option("--validate", o->validate, "validation videos")->capture_default_str();
  app.add_option("--test", o->test, "test videos")->capture_default_str();
  app.add_option("--videos-per-shard", o->videos_per_shard, "videos per .tfrecord file")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 40))
      ->capture_default_str();
  app.add_option("--level", o->level, "frame, video or both")
      ->check(CLI::IsMember({"frame", "video", "both"}))
      ->capture_default_str();
  app.add_option("--layout", o->layout, "2018 (id, 3862 classes) or 2017 (video_id, 4716 classes)")
      ->check(CLI::IsMember({"2018", "2017"}))
      ->capture_default_str();
  app.add_option("--classes", o->classes, "number of classes (default: the layout's); fewer keep the long tail")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  app.add_option("--vocabulary", o->vocabulary, "take class frequencies from this vocabulary.csv")
      ->check(CLI::ExistingFile);
  app.add_option("--min-frames", o->min_frames, "shortest video, frames")->capture_default_str();
  app.add_option("--max-frames", o->max_frames, "longest video, frames")->capture_default_str();
  app.add_option("--seed", o->seed, "generator seed: the same seed writes the same bytes")->capture_default_str();
  app.add_option("--compression", o->compression, "none, gzip or zlib")
      ->check(CLI::IsMember({"none", "gzip", "zlib"}))
      ->capture_default_str();
  app.add_option("--threads", o->threads, "writer threads (default: all cores)")->check(CLI::Range(0, 1024));
  return [o] { run_make_data(*o); };
}

const CommandRegistrar registrar({"make-data", "Write a synthetic YouTube-8M data set (frame- and video-level TFRecords)",
                                  setup_make_data});

}  // namespace
}  // namespace ff::tools
