// The streaming YouTube-8M loader: file globs -> reader threads (TFRecord framing, CRC32C, wire decoding,
// frame sampling) -> a seeded shuffle buffer -> batches of padded uint8 frames, prefetched by a
// background thread.
//
// Determinism: worker w reads the files w, w + W, w + 2W, ... of this rank's epoch order, and the
// batcher takes one video from each worker in turn. The merged order therefore depends only on the
// files and the options, never on thread timing; the shuffle buffer draws from a Philox stream keyed by
// (seed, epoch). Same options and seed, same batches.
//
// Sharding: with ShardMode::Files, rank r of a world of size R reads the files r, r + R, ... of the
// sorted file list; with ShardMode::Records every rank reads every file and keeps record j of a file
// when j % R == r. Either way every record is seen by exactly one rank per epoch.
//
// Resume: position() describes the state after the last batch next() returned: the epoch, each
// worker's cursor (file, byte offset, record index), the shuffle buffer's contents as (file, offset)
// pairs and the shuffle stream's counter. A loader made with the same options and given that position
// continues exactly as the original would have.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/file_patterns.h"
#include "data/frame_sampler.h"
#include "data/tfrecord.h"
#include "data/youtube8m.h"

namespace ff::data {

enum class ShardMode { Files, Records };
enum class EmptyVideoPolicy { Skip, Error };

// One way of looking at each video: the teacher's all frames, the student's k sampled frames, ...
struct ViewSpec {
  std::string name;
  SamplerSpec sampler;
  // false: the batch carries this view's frame indices but not its frames, for a consumer that gathers
  // them on the device from a view of all frames it uploads anyway (distillation: the student's k frames
  // are a subset of the teacher's). Saves the host copy and the PCIe bytes of the second view.
  bool copy_frames = true;
  // Frames per video in the batch: max_frames for FrameSampler::All, k otherwise.
  int64_t capacity() const;
};

struct LoaderOptions {
  std::vector<std::string> patterns;  // file globs, e.g. "data/train*.tfrecord"
  YouTube8MLayout layout = YouTube8MLayout::v2018();
  std::vector<ViewSpec> views = {{"all", {FrameSampler::All, 0, 300}}};
  int64_t batch_size = 160;
  bool drop_remainder = false;  // drop the last, smaller batch of an epoch
  int rank = 0;
  int world_size = 1;
  ShardMode shard_mode = ShardMode::Files;
  int reader_threads = 2;
  int64_t shuffle_buffer = 0;  // videos; 0 or 1 keeps the file order
  bool shuffle_files = false;  // a new file order every epoch
  uint64_t seed = 0;
  int prefetch_batches = 2;
  EmptyVideoPolicy empty_videos = EmptyVideoPolicy::Skip;
  TFRecordReaderOptions reader;
};

struct ViewBatch {
  std::string name;
  int64_t capacity = 0;                        // padded frame axis
  // Per frame feature: [batch, capacity, size], zero-padded. Empty (no features at all) for a view whose
  // ViewSpec::copy_frames is false.
  std::vector<std::vector<uint8_t>> features;
  std::vector<int32_t> frame_counts;   // [batch]: real frames per video
  std::vector<int32_t> frame_indices;  // [batch, capacity]: the video's frame in each slot, -1 for padding
};

struct Batch {
  int64_t size = 0;
  int64_t num_classes = 0;
  uint64_t epoch = 0;
  std::vector<std::string> ids;
  std::vector<std::vector<int32_t>> labels;  // per video, as stored
  std::vector<float> multi_hot;              // [batch, num_classes]
  std::vector<ViewBatch> views;              // in the order of LoaderOptions::views
};

struct LoaderStats {
  uint64_t videos = 0;                   // delivered in batches
  uint64_t records = 0;                  // read by the workers (this rank's share)
  uint64_t empty_videos_skipped = 0;
  uint64_t corrupt_records_skipped = 0;  // with reader.skip_corrupt
  uint64_t bytes = 0;                    // payload bytes read
};

class Loader {
 public:
  explicit Loader(LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // The next batch of the current epoch; false when the epoch is over (then call next_epoch()). The
  // previous contents of `batch` are taken back, their buffers reused for a later batch.
  // Errors of the workers (DataError with file, offset and id) are rethrown here, in stream order.
  bool next(Batch& batch);
  void next_epoch();
  uint64_t epoch() const;

  // The position after the last batch next() returned, as a JSON text for checkpoints.
  std::string position() const;
  // Restarts from a position() of a loader with the same options and files.
  void restore(const std::string& position);

  LoaderStats stats() const;
  const std::vector<std::string>& files() const;  // this rank's files, sorted

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ff::data
