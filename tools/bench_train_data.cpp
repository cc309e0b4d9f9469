#include "tools/bench_train_data.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "data/synthetic_records.h"
#include "data/tfrecord.h"

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
    std::atomic<int64_t> next_shard{0};
    std::atomic<uint64_t> bytes{0}, frames{0};
    std::mutex error_mutex;
    std::exception_ptr error;
    auto work = [&] {
      data::SyntheticVideo v;
      for (int64_t s; (s = next_shard++) < shards;) {
        try {
          data::TFRecordWriter writer((dir_ / fmt::format("train{:04d}.tfrecord", s)).string());
          for (int64_t i = s * kVideosPerShard; i < std::min(videos, (s + 1) * kVideosPerShard); ++i) {
            generator.generate(uint64_t(i), v);
            writer.write(data::encode_frame_level(data::frame_level_record(v), layout));
            frames += uint64_t(v.num_frames);
          }
          writer.close();
          bytes += writer.bytes_written();
        } catch (...) {
          std::lock_guard lock(error_mutex);
          if (!error) error = std::current_exception();
          return;
        }
      }
    };
    if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::thread> pool;
    for (int t = 0; t < std::min<int64_t>(threads, shards); ++t) pool.emplace_back(work);
    for (std::thread& t : pool) t.join();
    if (error) std::rethrow_exception(error);
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
