#include "tools/bench_train_data.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>

#include "data/synthetic_records.h"
#include "data/tfrecord.h"
#include "tools/parallel_shards.h"

namespace ff::tools {

namespace {
constexpr int64_t kVideosPerShard = 256;
}

BenchTrainShards::BenchTrainShards(int64_t videos, const data::SyntheticVideoConfig& config,
                                   const data::YouTube8MLayout& layout, int threads)
    : videos_(videos) {
  if (videos < 1) throw std::invalid_argument("bench train needs at least one synthetic video");
  if (layout.frame_features.size() != 2 || layout.frame_features[0].size != config.rgb_size ||
      layout.frame_features[1].size != config.audio_size || layout.num_classes != config.num_classes)
    throw std::invalid_argument("the synthetic videos' sizes do not match the layout");
  dir_ = std::filesystem::temp_directory_path() / fmt::format("ff_bench_train_{}", ::getpid());
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  try {
    const data::SyntheticVideoGenerator generator(config);
    const int64_t shards = (videos + kVideosPerShard - 1) / kVideosPerShard;
    std::atomic<uint64_t> bytes{0}, frames{0};
    write_shards_in_parallel(shards, threads, [&](int64_t s) {
      data::SyntheticVideo v;
      data::TFRecordWriter writer((dir_ / fmt::format("train{:04d}.tfrecord", s)).string());
      for (int64_t i = s * kVideosPerShard; i < std::min(videos, (s + 1) * kVideosPerShard); ++i) {
        generator.generate(uint64_t(i), v);
        writer.write(data::encode_frame_level(data::frame_level_record(v), layout));
        frames += uint64_t(v.num_frames);
      }
      writer.close();
      bytes += writer.bytes_written();
    });
    bytes_ = bytes;
    mean_frames_ = double(frames) / double(videos);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw;
  }
}

BenchTrainShards::~BenchTrainShards() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string BenchTrainShards::pattern() const { return (dir_ / "train*.tfrecord").string(); }

}  // namespace ff::tools
