// The streaming loader on small synthetic shards: coverage, sharding, determinism, views, resume, errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include "data/loader.h"
#include "data/synthetic_records.h"
#include "data/synthetic_video.h"
#include "support/temporary_directory.h"

namespace ff::data {
namespace {

using Catch::Matchers::Contains;

// Small features keep the test fast; the loader takes any layout.
YouTube8MLayout small_layout() {
  YouTube8MLayout layout;
  layout.frame_features = {{"rgb", 8}, {"audio", 4}};
  layout.num_classes = 20;
  return layout;
}

struct Shards {
  test::TemporaryDirectory directory{"ff_loader_test"};
  std::vector<std::string> files;
  std::map<std::string, DecodedFrameLevel> videos;  // by id
  std::vector<std::vector<std::string>> ids_by_file;

  // `counts[f]` videos in file f; frame counts 1..40 so that short videos and N < k both occur.
  explicit Shards(const std::vector<int>& counts, bool with_empty_video = false) {
    SyntheticVideoConfig config;
    config.num_classes = 20;
    config.rgb_size = 8;
    config.audio_size = 4;
    config.min_frames = 1;
    config.max_frames = 40;
    config.seed = 3;
    SyntheticVideoGenerator generator(config);
    uint64_t index = 0;
    for (size_t f = 0; f < counts.size(); ++f) {
      files.push_back(directory.file("train" + std::to_string(1000 + f).substr(1) + ".tfrecord"));
      TFRecordWriter writer(files.back());
      ids_by_file.emplace_back();
      for (int i = 0; i < counts[f]; ++i) {
        SyntheticVideo v = generator.generate(index++);
        DecodedFrameLevel d = frame_level_record(v);
        if (with_empty_video && f == 0 && i == 1) d = DecodedFrameLevel{v.id, v.labels, 0, {{}, {}}};
        writer.write(encode_frame_level(d, small_layout()));
        videos[d.id] = d;
        ids_by_file.back().push_back(d.id);
      }
      writer.close();
    }
  }

  LoaderOptions options() const {
    LoaderOptions o;
    o.patterns = {directory.file("train*.tfrecord")};
    o.layout = small_layout();
    o.batch_size = 4;
    return o;
  }
};

std::vector<Batch> epoch_batches(Loader& loader) {
  std::vector<Batch> batches;
  Batch batch;
  while (loader.next(batch)) batches.push_back(batch);
  return batches;
}

std::vector<std::string> ids_of(const std::vector<Batch>& batches) {
  std::vector<std::string> ids;
  for (const Batch& b : batches) ids.insert(ids.end(), b.ids.begin(), b.ids.end());
  return ids;
}

bool same_batches(const std::vector<Batch>& a, const std::vector<Batch>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].ids != b[i].ids || a[i].multi_hot != b[i].multi_hot || a[i].views.size() != b[i].views.size()) return false;
    for (size_t v = 0; v < a[i].views.size(); ++v)
      if (a[i].views[v].features != b[i].views[v].features || a[i].views[v].frame_counts != b[i].views[v].frame_counts ||
          a[i].views[v].frame_indices != b[i].views[v].frame_indices)
        return false;
  }
  return true;
}

}  // namespace

TEST_CASE("one epoch delivers every video once, merged round-robin from the workers", "[loader]") {
  Shards shards({5, 3, 4});
  LoaderOptions o = shards.options();
  o.reader_threads = 2;
  Loader loader(o);
  std::vector<Batch> batches = epoch_batches(loader);
  std::vector<std::string> ids = ids_of(batches);
  REQUIRE(ids.size() == 12);
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 12);
  CHECK(batches.size() == 3);
  CHECK(loader.stats().videos == 12);
  Batch after;
  CHECK_FALSE(loader.next(after));  // stays at the end until next_epoch()
  // Worker 0 reads files 0 and 2, worker 1 file 1: the merge alternates until worker 1 runs dry.
  const auto& f = shards.ids_by_file;
  std::vector<std::string> expected = {f[0][0], f[1][0], f[0][1], f[1][1], f[0][2], f[1][2],
                                       f[0][3], f[0][4], f[2][0], f[2][1], f[2][2], f[2][3]};
  CHECK(ids == expected);
  loader.next_epoch();
  CHECK(ids_of(epoch_batches(loader)) == ids);  // no shuffling asked for: the same order every epoch
}

TEST_CASE("batches hold the teacher's frames and the student's sampled frames, padded", "[loader]") {
  Shards shards({6, 6});
  LoaderOptions o = shards.options();
  o.views = {{"teacher", {FrameSampler::All, 0, 30}}, {"student", {FrameSampler::Uniform, 5, 30}}};
  Loader loader(o);
  std::vector<int32_t> indices;
  for (const Batch& batch : epoch_batches(loader)) {
    REQUIRE(batch.views.size() == 2);
    CHECK(batch.views[0].capacity == 30);
    CHECK(batch.views[1].capacity == 5);
    for (int64_t b = 0; b < batch.size; ++b) {
      const DecodedFrameLevel& video = shards.videos.at(batch.ids[size_t(b)]);
      CHECK(batch.labels[size_t(b)] == video.labels);
      for (int64_t c = 0; c < batch.num_classes; ++c) {
        bool positive = std::count(video.labels.begin(), video.labels.end(), int32_t(c)) > 0;
        CHECK(batch.multi_hot[size_t(b * batch.num_classes + c)] == (positive ? 1.0f : 0.0f));
      }
      for (size_t v = 0; v < 2; ++v) {
        const ViewBatch& view = batch.views[v];
        sample_frames(o.views[v].sampler, video.num_frames, o.seed, 0, indices);
        REQUIRE(view.frame_counts[size_t(b)] == int32_t(indices.size()));
        std::vector<int32_t> slots(view.frame_indices.begin() + b * view.capacity,
                                   view.frame_indices.begin() + (b + 1) * view.capacity);
        std::vector<int32_t> expected_slots(indices);
        expected_slots.resize(size_t(view.capacity), -1);
        CHECK(slots == expected_slots);
        for (size_t f = 0; f < 2; ++f) {
          size_t size = size_t(o.layout.frame_features[f].size);
          const uint8_t* row = view.features[f].data() + size_t(b) * size_t(view.capacity) * size;
          for (size_t i = 0; i < size_t(view.capacity); ++i) {
            std::vector<uint8_t> got(row + i * size, row + (i + 1) * size);
            std::vector<uint8_t> expected(size, 0);  // padding
            if (i < indices.size())
              expected.assign(video.features[f].begin() + indices[i] * int64_t(size),
                              video.features[f].begin() + (indices[i] + 1) * int64_t(size));
            CHECK(got == expected);
          }
        }
      }
    }
  }
}

TEST_CASE("a view that does not copy frames carries the same indices and counts, and no frames", "[loader]") {
  Shards shards({5, 4});
  LoaderOptions copying = shards.options();
  copying.views = {{"all", {FrameSampler::All, 0, 30}}, {"sampled", {FrameSampler::Uniform, 7, 30}}};
  LoaderOptions indices_only = copying;
  indices_only.views[1].copy_frames = false;
  Loader a(copying), b(indices_only);
  std::vector<Batch> with_frames = epoch_batches(a), without = epoch_batches(b);
  REQUIRE(with_frames.size() == without.size());
  for (size_t i = 0; i < with_frames.size(); ++i) {
    CHECK(with_frames[i].ids == without[i].ids);
    CHECK(with_frames[i].views[0].features == without[i].views[0].features);
    const ViewBatch &copied = with_frames[i].views[1], &indexed = without[i].views[1];
    CHECK(copied.features.size() == 2);
    CHECK(indexed.features.empty());
    CHECK(indexed.capacity == 7);
    CHECK(indexed.frame_counts == copied.frame_counts);
    CHECK(indexed.frame_indices == copied.frame_indices);
  }
}

TEST_CASE("sharding gives every record to exactly one rank", "[loader]") {
  Shards shards({4, 7, 2, 5, 3});
  for (ShardMode mode : {ShardMode::Files, ShardMode::Records}) {
    std::vector<std::string> all;
    for (int rank = 0; rank < 3; ++rank) {
      LoaderOptions o = shards.options();
      o.shard_mode = mode;
      o.world_size = 3;
      o.rank = rank;
      o.reader_threads = 2;
      Loader loader(o);
      std::vector<std::string> ids = ids_of(epoch_batches(loader));
      CHECK_FALSE(ids.empty());
      all.insert(all.end(), ids.begin(), ids.end());
    }
    std::sort(all.begin(), all.end());
    INFO("mode " << (mode == ShardMode::Files ? "files" : "records"));
    CHECK(all.size() == shards.videos.size());
    CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
  }
  LoaderOptions o = shards.options();
  o.world_size = 6;
  o.rank = 5;
  CHECK_THROWS_WITH(Loader(o), Contains("5 files cannot be sharded by file over 6 ranks"));
}

TEST_CASE("the same seed gives the same batches; another seed another order", "[loader]") {
  Shards shards({9, 6, 8, 7});
  LoaderOptions o = shards.options();
  o.reader_threads = 3;
  o.shuffle_buffer = 10;
  o.shuffle_files = true;
  o.seed = 11;
  o.views = {{"student", {FrameSampler::Random, 4, 30}}};
  Loader first(o), second(o);
  std::vector<Batch> a = epoch_batches(first), b = epoch_batches(second);
  CHECK(same_batches(a, b));
  first.next_epoch();
  std::vector<Batch> next_epoch = epoch_batches(first);
  CHECK(ids_of(next_epoch) != ids_of(a));  // each epoch shuffles anew
  o.seed = 12;
  Loader other(o);
  CHECK(ids_of(epoch_batches(other)) != ids_of(a));
  std::vector<std::string> sorted_a = ids_of(a);
  std::sort(sorted_a.begin(), sorted_a.end());
  CHECK(sorted_a.size() == shards.videos.size());
}

TEST_CASE("a restored position continues exactly as the uninterrupted run", "[loader]") {
  Shards shards({9, 6, 8, 7});
  LoaderOptions o = shards.options();
  o.reader_threads = 3;
  o.shuffle_buffer = 7;
  o.shuffle_files = true;
  o.seed = 5;
  o.batch_size = 3;
  o.views = {{"teacher", {FrameSampler::All, 0, 40}}, {"student", {FrameSampler::Random, 4, 40}}};
  Loader reference(o);
  std::vector<Batch> whole = epoch_batches(reference);
  reference.next_epoch();
  std::vector<Batch> whole_next = epoch_batches(reference);

  for (size_t stop_after : {size_t(0), size_t(1), size_t(4), whole.size()}) {
    Loader interrupted(o);
    Batch batch;
    for (size_t i = 0; i < stop_after; ++i) REQUIRE(interrupted.next(batch));
    std::string position = interrupted.position();

    Loader resumed(o);
    resumed.restore(position);
    std::vector<Batch> rest = epoch_batches(resumed);
    INFO("stopped after " << stop_after << " batches; position " << position);
    CHECK(same_batches(rest, std::vector<Batch>(whole.begin() + long(stop_after), whole.end())));
    resumed.next_epoch();
    CHECK(same_batches(epoch_batches(resumed), whole_next));
  }
  Loader loader(o);
  CHECK_THROWS_WITH(loader.restore("{"), Contains("not valid JSON"));
  LoaderOptions fewer_threads = o;
  fewer_threads.reader_threads = 2;
  Loader other(fewer_threads);
  CHECK_THROWS_WITH(other.restore(reference.position()), Contains("another file list or thread count"));
}

TEST_CASE("videos without frames are skipped and counted, or stop the epoch by option", "[loader]") {
  Shards shards({3, 2}, true);
  LoaderOptions o = shards.options();
  Loader skipping(o);
  CHECK(ids_of(epoch_batches(skipping)).size() == 4);
  CHECK(skipping.stats().empty_videos_skipped == 1);
  o.empty_videos = EmptyVideoPolicy::Error;
  Loader strict(o);
  Batch batch;
  CHECK_THROWS_WITH(strict.next(batch), Contains("train000.tfrecord") && Contains("video has no frames") &&
                                            Contains("(id '"));
}

TEST_CASE("a corrupt record surfaces as a DataError with file and offset", "[loader]") {
  Shards shards({4});
  {
    std::fstream file(shards.files[0], std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(20);  // inside the first record's payload
    file.put('\x7f');
  }
  LoaderOptions o = shards.options();
  Loader loader(o);
  Batch batch;
  CHECK_THROWS_WITH(loader.next(batch), Contains("train000.tfrecord: offset 0") && Contains("CRC"));
  o.reader.skip_corrupt = true;
  Loader skipping(o);
  CHECK(ids_of(epoch_batches(skipping)).size() == 3);
  CHECK(skipping.stats().corrupt_records_skipped == 1);
}

TEST_CASE("options and patterns are checked up front", "[loader]") {
  Shards shards({2});
  LoaderOptions o = shards.options();
  o.patterns = {shards.directory.file("nothing*.tfrecord")};
  CHECK_THROWS_WITH(Loader(o), Contains("nothing*.tfrecord") && Contains("no file matches"));
  o = shards.options();
  o.batch_size = 0;
  CHECK_THROWS_AS(Loader(o), std::invalid_argument);
  o = shards.options();
  o.drop_remainder = true;
  o.batch_size = 3;
  Loader dropping(o);
  CHECK(epoch_batches(dropping).size() == 0);  // 2 videos, batches of 3
}

}  // namespace ff::data
