#include "data/loader.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <variant>

#include "data/bounded_queue.h"
#include "kernels/philox.h"

namespace ff::data {

int64_t ViewSpec::capacity() const { return sampler.kind == FrameSampler::All ? sampler.max_frames : sampler.k; }

namespace {

// Where a video came from, enough to read it again (resume) and to name it in errors.
struct Source {
  int64_t file = 0;          // index into Impl::files
  uint64_t offset = 0;       // record start
  uint64_t next_offset = 0;  // the record after it
  uint64_t record = 0;       // index of the record in its file
};

// One decoded video, already reduced to the frames each view keeps.
struct Example {
  Source source;
  std::string id;
  std::vector<int32_t> labels;
  std::vector<std::vector<int32_t>> indices;              // [view]: the frames the view keeps
  std::vector<std::vector<std::vector<uint8_t>>> frames;  // [view][feature]: count * size bytes; none
                                                          // for a view that does not copy frames
};

// What a worker hands the batcher: a video, or the error that stopped it.
using WorkItem = std::variant<Example, std::exception_ptr>;

struct WorkerCursor {
  int64_t list_index = 0;  // position in the worker's own file list
  uint64_t offset = 0;
  uint64_t record = 0;
};

// FNV-1a of the id: a key for the random sampler that does not depend on the record's position.
uint64_t id_key(std::string_view id) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : id) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

}  // namespace

struct Loader::Impl {
  LoaderOptions options;
  std::vector<std::string> files;  // this rank's files (file sharding) or all files (record sharding)
  uint64_t epoch = 0;

  // The state the batcher advances; `committed` is the copy that describes the last delivered batch.
  struct State {
    std::vector<WorkerCursor> cursors;      // consumed position per worker
    std::vector<Source> buffer_sources;     // shuffle buffer contents, in slot order
    uint64_t draws = 0;                     // shuffle stream counter
    uint64_t turn = 0;                      // next worker to take from
    uint64_t delivered = 0;                 // videos delivered this epoch
  };
  State committed;

  struct BatchItem {
    std::variant<Batch, std::exception_ptr, std::monostate> content;  // monostate: end of epoch
    State state;
  };

  std::vector<std::vector<int64_t>> worker_files;  // per worker: indices into `files`
  std::vector<std::unique_ptr<BoundedQueue<WorkItem>>> worker_queues;
  std::vector<std::thread> workers;
  std::unique_ptr<BoundedQueue<BatchItem>> batches;
  BoundedQueue<Batch> recycled{4};  // batches the consumer handed back, for their buffers
  std::thread batcher;
  std::atomic<bool> stopping{false};
  bool epoch_finished = false;

  std::atomic<uint64_t> records{0}, empty_skipped{0}, corrupt_skipped{0}, bytes{0}, videos{0};

  explicit Impl(LoaderOptions o) : options(std::move(o)) {
    if (options.batch_size < 1) throw std::invalid_argument("loader: batch size must be at least 1");
    if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size)
      throw std::invalid_argument("loader: rank " + std::to_string(options.rank) + " is outside a world of size " +
                                  std::to_string(options.world_size));
    if (options.reader_threads < 1) throw std::invalid_argument("loader: at least one reader thread is needed");
    if (options.views.empty()) throw std::invalid_argument("loader: no view of the videos was asked for");
    for (const ViewSpec& v : options.views)
      if (v.capacity() < 1)
        throw std::invalid_argument("loader: view \"" + v.name + "\" keeps no frames (k or max_frames < 1)");
    std::vector<std::string> all = expand_file_patterns(options.patterns);
    if (options.shard_mode == ShardMode::Files) {
      if (int64_t(all.size()) < options.world_size)
        throw std::invalid_argument("loader: " + std::to_string(all.size()) + " files cannot be sharded by file over " +
                                    std::to_string(options.world_size) + " ranks (use record sharding)");
      for (size_t i = size_t(options.rank); i < all.size(); i += size_t(options.world_size)) files.push_back(all[i]);
    } else {
      files = std::move(all);
    }
  }

  ~Impl() { stop(); }

  // This epoch's file order, then dealt to the workers round-robin.
  void plan_epoch() {
    std::vector<int64_t> order(files.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = int64_t(i);
    if (options.shuffle_files) {
      uint64_t key = options.seed ^ (0x9E3779B97F4A7C15ull * (epoch + 1));
      for (size_t i = order.size(); i > 1; --i) {  // Fisher-Yates from the Philox stream
        size_t j = size_t(philox::bits(key, i) % uint32_t(i));
        std::swap(order[i - 1], order[j]);
      }
    }
    size_t worker_count = std::min<size_t>(size_t(options.reader_threads), std::max<size_t>(order.size(), 1));
    worker_files.assign(worker_count, {});
    for (size_t i = 0; i < order.size(); ++i) worker_files[i % worker_count].push_back(order[i]);
  }

  Example decode(const std::string& file_name, int64_t file_index, std::string_view payload, const Source& where,
                 FrameLevelView& view) const {
    decode_frame_level(payload, options.layout, view, RecordSource{file_name, where.offset});
    Example example;
    example.source = where;
    example.source.file = file_index;
    example.id.assign(view.id);
    example.labels = view.labels;
    example.indices.resize(options.views.size());
    example.frames.resize(options.views.size());
    uint64_t key = id_key(view.id) ^ (0xD1B54A32D192ED03ull * (epoch + 1));
    for (size_t v = 0; v < options.views.size(); ++v) {
      std::vector<int32_t>& indices = example.indices[v];
      sample_frames(options.views[v].sampler, view.num_frames, options.seed, key, indices);
      if (!options.views[v].copy_frames) continue;
      example.frames[v].resize(options.layout.frame_features.size());
      for (size_t f = 0; f < options.layout.frame_features.size(); ++f) {
        size_t size = size_t(options.layout.frame_features[f].size);
        std::vector<uint8_t>& out = example.frames[v][f];
        out.resize(indices.size() * size);
        for (size_t i = 0; i < indices.size(); ++i)
          std::memcpy(out.data() + i * size, view.frames[f][size_t(indices[i])], size);
      }
    }
    return example;
  }

  // Reads the worker's files from its cursor; pushes every kept video, then closes its queue.
  void run_worker(size_t w, WorkerCursor start) {
    BoundedQueue<WorkItem>& queue = *worker_queues[w];
    try {
      FrameLevelView view;
      const std::vector<int64_t>& list = worker_files[w];
      for (size_t l = size_t(start.list_index); l < list.size() && !stopping; ++l) {
        const std::string& name = files[size_t(list[l])];
        TFRecordReader reader(name, options.reader);
        uint64_t record = 0;
        if (l == size_t(start.list_index) && (start.offset > 0 || start.record > 0)) {
          reader.seek(start.offset);
          record = start.record;
        }
        std::string_view payload;
        while (!stopping && reader.next(payload)) {
          Source where{list[l], reader.record_offset(), reader.next_offset(), record++};
          ++records;
          bytes += payload.size();
          if (options.shard_mode == ShardMode::Records &&
              where.record % uint64_t(options.world_size) != uint64_t(options.rank))
            continue;
          Example example = decode(name, list[l], payload, where, view);
          if (view.num_frames == 0) {
            if (options.empty_videos == EmptyVideoPolicy::Error)
              throw DataError(name, where.offset, example.id, "video has no frames");
            ++empty_skipped;
            continue;
          }
          if (!queue.push(std::move(example))) return;
        }
        corrupt_skipped += reader.corrupt_records_skipped();
      }
    } catch (...) {
      queue.push(std::current_exception());
    }
    queue.close();
  }

  // Re-reads one buffered video at its recorded place (resume).
  Example reread(const Source& source) const {
    const std::string& name = files[size_t(source.file)];
    TFRecordReader reader(name, options.reader);
    reader.seek(source.offset);
    std::string_view payload;
    if (!reader.next(payload)) throw DataError(name, source.offset, "", "resume: no record at this offset");
    FrameLevelView view;
    Source where = source;
    where.next_offset = reader.next_offset();
    return decode(name, source.file, payload, where, view);
  }

  // Builds a batch, reusing the buffers of a batch the consumer has finished with when there is one:
  // a teacher batch is tens of MB, and fresh memory costs a page fault per 4 KiB every step.
  Batch assemble(std::vector<Example>& examples) {
    Batch batch;
    if (std::optional<Batch> old = recycled.try_pop()) batch = std::move(*old);
    batch.size = int64_t(examples.size());
    batch.num_classes = options.layout.num_classes;
    batch.epoch = epoch;
    batch.ids.clear();
    batch.labels.clear();
    batch.multi_hot.assign(size_t(batch.size * batch.num_classes), 0.0f);
    batch.views.resize(options.views.size());
    for (size_t v = 0; v < options.views.size(); ++v) {
      ViewBatch& view = batch.views[v];
      view.name = options.views[v].name;
      view.capacity = options.views[v].capacity();
      view.frame_counts.resize(examples.size());
      view.frame_indices.assign(size_t(batch.size * view.capacity), -1);
      view.features.resize(options.views[v].copy_frames ? options.layout.frame_features.size() : 0);
      for (size_t f = 0; f < view.features.size(); ++f)
        view.features[f].resize(size_t(batch.size * view.capacity * options.layout.frame_features[f].size));
    }
    for (size_t b = 0; b < examples.size(); ++b) {
      Example& e = examples[b];
      batch.ids.push_back(std::move(e.id));
      for (int32_t label : e.labels) batch.multi_hot[b * size_t(batch.num_classes) + size_t(label)] = 1.0f;
      batch.labels.push_back(std::move(e.labels));
      for (size_t v = 0; v < options.views.size(); ++v) {
        ViewBatch& view = batch.views[v];
        const std::vector<int32_t>& indices = e.indices[v];
        view.frame_counts[b] = int32_t(indices.size());
        std::copy(indices.begin(), indices.end(), view.frame_indices.begin() + ptrdiff_t(b * size_t(view.capacity)));
        for (size_t f = 0; f < view.features.size(); ++f) {
          size_t row = size_t(view.capacity * options.layout.frame_features[f].size);
          uint8_t* out = view.features[f].data() + b * row;
          const std::vector<uint8_t>& frames = e.frames[v][f];
          std::memcpy(out, frames.data(), frames.size());
          std::memset(out + frames.size(), 0, row - frames.size());  // padding
        }
      }
    }
    return batch;
  }

  // Merges the workers round-robin, shuffles, batches; pushes batches with the state after each.
  void run_batcher(State state, std::vector<Example> buffer) {
    try {
      const size_t worker_count = worker_queues.size();
      std::vector<bool> done(worker_count, false);
      size_t live = worker_count;
      const uint64_t shuffle_key = options.seed ^ 0x632BE59BD9B4E019ull ^ (0x9E3779B97F4A7C15ull * (epoch + 1));
      const size_t buffer_size = size_t(std::max<int64_t>(options.shuffle_buffer, 1));
      std::vector<Example> pending;

      // The next video in merged order, or nothing when every worker is done.
      auto take = [&]() -> std::optional<Example> {
        while (live > 0) {
          size_t w = size_t(state.turn % worker_count);
          if (done[w]) {
            ++state.turn;
            continue;
          }
          std::optional<WorkItem> item = worker_queues[w]->pop();
          if (!item) {
            if (stopping) return std::nullopt;
            done[w] = true;
            --live;
            ++state.turn;
            continue;
          }
          if (auto* error = std::get_if<std::exception_ptr>(&*item)) std::rethrow_exception(*error);
          Example example = std::move(std::get<Example>(*item));
          ++state.turn;
          WorkerCursor& cursor = state.cursors[w];
          const std::vector<int64_t>& list = worker_files[w];
          cursor.list_index = std::find(list.begin(), list.end(), example.source.file) - list.begin();
          cursor.offset = example.source.next_offset;
          cursor.record = example.source.record + 1;
          return example;
        }
        return std::nullopt;
      };

      while (!stopping) {
        while (buffer.size() < buffer_size) {
          std::optional<Example> example = take();
          if (!example) break;
          buffer.push_back(std::move(*example));
        }
        if (buffer.empty() || stopping) break;
        size_t slot = buffer_size > 1 ? size_t(philox::bits(shuffle_key, state.draws++) % uint32_t(buffer.size())) : 0;
        pending.push_back(std::move(buffer[slot]));
        if (slot != buffer.size() - 1) buffer[slot] = std::move(buffer.back());
        buffer.pop_back();
        if (int64_t(pending.size()) == options.batch_size) emit(pending, state, buffer);
      }
      if (!pending.empty() && !options.drop_remainder && !stopping) emit(pending, state, buffer);
      batches->push(BatchItem{std::monostate{}, state});
    } catch (...) {
      batches->push(BatchItem{std::current_exception(), state});
    }
    batches->close();
  }

  void emit(std::vector<Example>& pending, State& state, const std::vector<Example>& buffer) {
    state.delivered += pending.size();
    state.buffer_sources.clear();
    for (const Example& e : buffer) state.buffer_sources.push_back(e.source);
    Batch batch = assemble(pending);
    pending.clear();
    batches->push(BatchItem{std::move(batch), state});
  }

  void start(const State& state, std::vector<Example> buffer) {
    stopping = false;
    epoch_finished = false;
    worker_queues.clear();
    for (size_t w = 0; w < worker_files.size(); ++w) worker_queues.push_back(std::make_unique<BoundedQueue<WorkItem>>(32));
    batches = std::make_unique<BoundedQueue<BatchItem>>(size_t(std::max(options.prefetch_batches, 1)));
    for (size_t w = 0; w < worker_files.size(); ++w) workers.emplace_back(&Impl::run_worker, this, w, state.cursors[w]);
    batcher = std::thread(&Impl::run_batcher, this, state, std::move(buffer));
  }

  void stop() {
    stopping = true;
    for (auto& q : worker_queues) q->close();
    if (batches) batches->close();
    for (std::thread& t : workers) t.join();
    workers.clear();
    if (batcher.joinable()) batcher.join();
  }

  void begin_epoch() {
    plan_epoch();
    committed = State{};
    committed.cursors.assign(worker_files.size(), WorkerCursor{});
    start(committed, {});
  }
};

Loader::Loader(LoaderOptions options) : impl_(std::make_unique<Impl>(std::move(options))) { impl_->begin_epoch(); }
Loader::~Loader() = default;

bool Loader::next(Batch& batch) {
  if (impl_->epoch_finished) return false;
  std::optional<Impl::BatchItem> item = impl_->batches->pop();
  if (!item) {
    impl_->epoch_finished = true;
    return false;
  }
  if (auto* error = std::get_if<std::exception_ptr>(&item->content)) {
    impl_->epoch_finished = true;
    std::rethrow_exception(*error);
  }
  if (std::holds_alternative<std::monostate>(item->content)) {
    impl_->committed = item->state;
    impl_->epoch_finished = true;
    return false;
  }
  if (batch.size > 0) impl_->recycled.try_push(std::move(batch));  // its buffers serve a later batch
  batch = std::move(std::get<Batch>(item->content));
  impl_->committed = item->state;
  impl_->videos += uint64_t(batch.size);
  return true;
}

void Loader::next_epoch() {
  impl_->stop();
  ++impl_->epoch;
  impl_->begin_epoch();
}

uint64_t Loader::epoch() const { return impl_->epoch; }

std::string Loader::position() const {
  const Impl::State& s = impl_->committed;
  nlohmann::json j;
  j["format"] = "fewerframes-loader-position-1";
  j["epoch"] = impl_->epoch;
  j["files"] = impl_->files.size();
  j["turn"] = s.turn;
  j["draws"] = s.draws;
  j["delivered"] = s.delivered;
  j["workers"] = nlohmann::json::array();
  for (const WorkerCursor& c : s.cursors) j["workers"].push_back({c.list_index, c.offset, c.record});
  j["buffer"] = nlohmann::json::array();
  for (const Source& b : s.buffer_sources) j["buffer"].push_back({b.file, b.offset, b.next_offset, b.record});
  return j.dump();
}

void Loader::restore(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("loader position is not valid JSON: ") + e.what());
  }
  if (j.value("format", "") != "fewerframes-loader-position-1")
    throw std::invalid_argument("loader position: unknown format");
  impl_->stop();
  impl_->epoch = j.at("epoch").get<uint64_t>();
  impl_->plan_epoch();
  if (j.at("files").get<size_t>() != impl_->files.size() || j.at("workers").size() != impl_->worker_files.size())
    throw std::invalid_argument("loader position was saved with another file list or thread count (" +
                                std::to_string(j.at("files").get<size_t>()) + " files, " +
                                std::to_string(j.at("workers").size()) + " workers; now " +
                                std::to_string(impl_->files.size()) + " and " +
                                std::to_string(impl_->worker_files.size()) + ")");
  Impl::State state;
  state.turn = j.at("turn").get<uint64_t>();
  state.draws = j.at("draws").get<uint64_t>();
  state.delivered = j.at("delivered").get<uint64_t>();
  for (const auto& c : j.at("workers"))
    state.cursors.push_back(WorkerCursor{c.at(0).get<int64_t>(), c.at(1).get<uint64_t>(), c.at(2).get<uint64_t>()});
  std::vector<Example> buffer;
  for (const auto& b : j.at("buffer")) {
    Source source{b.at(0).get<int64_t>(), b.at(1).get<uint64_t>(), b.at(2).get<uint64_t>(), b.at(3).get<uint64_t>()};
    if (source.file < 0 || size_t(source.file) >= impl_->files.size())
      throw std::invalid_argument("loader position names file " + std::to_string(source.file) + " of " +
                                  std::to_string(impl_->files.size()));
    buffer.push_back(impl_->reread(source));
    state.buffer_sources.push_back(source);
  }
  impl_->committed = state;
  impl_->start(state, std::move(buffer));
}

LoaderStats Loader::stats() const {
  LoaderStats s;
  s.videos = impl_->videos;
  s.records = impl_->records;
  s.empty_videos_skipped = impl_->empty_skipped;
  s.corrupt_records_skipped = impl_->corrupt_skipped;
  s.bytes = impl_->bytes;
  return s;
}

const std::vector<std::string>& Loader::files() const { return impl_->files; }

}  // namespace ff::data
