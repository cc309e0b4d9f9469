// The data of `fewerframes bench train`: synthetic frame-level shards from the generator of
// data/synthetic_video.h, written into a temporary folder (removed afterwards) and then read through the real
// loader, so a timed step includes the loader's work on page-cached files.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/synthetic_video.h"
#include "data/youtube8m.h"

namespace ff::tools {

class BenchTrainShards {
 public:
  // Writes `videos` videos in shards of up to 256, on `threads` writer threads (0: all cores). The
  // generator's feature sizes and class count must match the layout's.
  BenchTrainShards(int64_t videos, const data::SyntheticVideoConfig& config, const data::YouTube8MLayout& layout,
                   int threads = 0);
  ~BenchTrainShards();
  BenchTrainShards(const BenchTrainShards&) = delete;
  BenchTrainShards& operator=(const BenchTrainShards&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  std::string pattern() const;  // a glob matching every shard
  int64_t videos() const { return videos_; }
  uint64_t bytes() const { return bytes_; }  // TFRecord bytes written
  double mean_frames() const { return mean_frames_; }

 private:
  std::filesystem::path dir_;
  int64_t videos_ = 0;
  uint64_t bytes_ = 0;
  double mean_frames_ = 0;
};

}  // namespace ff::tools
