// `fewerframes bench loader`: how fast the data path runs on one core (read + CRC32C + wire decoding +
// uniform-k sampling), how fast the threaded loader delivers batches, and the same single-core work in
// Python with the protobuf package (bench/reference/python_loader_peer.py) as the peer, with the ratio.
// Files are page-cached synthetic shards written by make-data unless --data names others.
#include <fmt/core.h>

#include <unistd.h>

#include <array>
#include <cstring>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "data/frame_sampler.h"
#include "data/loader.h"
#include "data/synthetic_records.h"
#include "data/synthetic_video.h"
#include "data/tfrecord.h"
#include "data/youtube8m.h"
#include "data/youtube8m_class_counts.h"
#include "tools/command.h"

#ifndef FF_SOURCE_DIR
#define FF_SOURCE_DIR "."
#endif

namespace ff::tools {
namespace {

struct BenchLoaderOptions {
  std::vector<std::string> data;  // frame-level files or globs; empty: synthetic shards
  int64_t videos = 1000;
  int64_t k = 10;
  int threads = 0;  // loader threads; 0: all cores
  double seconds = 3.0;
  std::string python = "/usr/bin/python3";
  bool no_peer = false;
  bool json = false;
};

using Clock = std::chrono::steady_clock;
double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// A temporary folder of synthetic frame-level shards, removed afterwards.
struct SyntheticShards {
  std::filesystem::path dir;
  std::vector<std::string> files;
  SyntheticShards(int64_t videos, const data::YouTube8MLayout& layout) {
    dir = std::filesystem::temp_directory_path() / fmt::format("ff_bench_loader_{}", ::getpid());
    std::filesystem::create_directories(dir);
    data::SyntheticVideoConfig config;
    config.class_counts = data::youtube8m_class_counts();
    data::SyntheticVideoGenerator generator(config);
    const int64_t per_shard = 250;
    data::SyntheticVideo v;
    for (int64_t first = 0, shard = 0; first < videos; first += per_shard, ++shard) {
      files.push_back((dir / fmt::format("train{:04d}.tfrecord", shard)).string());
      data::TFRecordWriter writer(files.back());
      for (int64_t i = first; i < std::min(videos, first + per_shard); ++i) {
        generator.generate(uint64_t(i), v);
        writer.write(data::encode_frame_level(data::frame_level_record(v), layout));
      }
      writer.close();
    }
  }
  ~SyntheticShards() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

struct CoreResult {
  int64_t records = 0;
  uint64_t bytes = 0;
  double seconds = 0;
};

// One core: read, check, decode and sample every record, repeating the files until `seconds` pass.
CoreResult measure_one_core(const std::vector<std::string>& files, const data::YouTube8MLayout& layout, int64_t k,
                            double seconds) {
  data::FrameLevelView view;
  std::vector<int32_t> indices;
  std::vector<uint8_t> frames(size_t(k) * 1152);
  data::SamplerSpec uniform{data::FrameSampler::Uniform, k, 300};
  CoreResult r;
  auto start = Clock::now();
  do {
    for (const std::string& file : files) {
      data::TFRecordReader reader(file);
      std::string_view payload;
      while (reader.next(payload)) {
        data::decode_frame_level(payload, layout, view, {file, reader.record_offset()});
        data::sample_frames(uniform, view.num_frames, 0, r.records, indices);
        size_t at = 0;
        for (int32_t i : indices)
          for (size_t f = 0; f < view.frames.size(); ++f) {
            size_t size = size_t(layout.frame_features[f].size);
            if (frames.size() < at + size) frames.resize(at + size);
            std::memcpy(frames.data() + at, view.frames[f][size_t(i)], size);
            at += size;
          }
        ++r.records;
        r.bytes += payload.size() + 16;
      }
    }
  } while (since(start) < seconds);
  r.seconds = since(start);
  return r;
}

// The threaded loader over one epoch, batch 160: the student's uniform-k view, and the teacher's view of
// all frames when asked (distillation with an online teacher).
CoreResult measure_loader(const std::vector<std::string>& files, const data::YouTube8MLayout& layout, int64_t k,
                          int threads, bool with_teacher) {
  data::LoaderOptions o;
  o.patterns = files;
  o.layout = layout;
  o.views = {{"student", {data::FrameSampler::Uniform, k, 300}}};
  if (with_teacher) o.views.insert(o.views.begin(), {"teacher", {data::FrameSampler::All, 0, 300}});
  o.reader_threads = threads;
  o.shuffle_buffer = 1024;
  auto start = Clock::now();
  data::Loader loader(o);
  data::Batch batch;
  CoreResult r;
  while (loader.next(batch)) r.records += batch.size;
  r.seconds = since(start);
  r.bytes = loader.stats().bytes;
  return r;
}

nlohmann::json run_peer(const BenchLoaderOptions& o, const std::vector<std::string>& files, std::string& problem) {
  std::string command = fmt::format("'{}' '{}/bench/reference/python_loader_peer.py' '{}/data/proto/example.proto' {} {}",
                                    o.python, FF_SOURCE_DIR, FF_SOURCE_DIR, o.k, o.seconds);
  for (const std::string& f : files) command += " '" + f + "'";
  command += " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) {
    problem = "cannot start " + o.python;
    return {};
  }
  std::string output;
  std::array<char, 4096> chunk;
  while (size_t n = std::fread(chunk.data(), 1, chunk.size(), pipe.get())) output.append(chunk.data(), n);
  int status = ::pclose(pipe.release());
  try {
    if (status == 0) return nlohmann::json::parse(output);
  } catch (const std::exception&) {
  }
  problem = output.empty() ? "the peer failed" : output.substr(0, output.find_last_not_of("\n") + 1);
  return {};
}

void run_bench_loader(const BenchLoaderOptions& o) {
  data::YouTube8MLayout layout = data::YouTube8MLayout::v2018();
  std::unique_ptr<SyntheticShards> synthetic;
  std::vector<std::string> files;
  if (o.data.empty()) {
    fmt::print(stderr, "bench loader: writing {} synthetic videos\n", o.videos);
    synthetic = std::make_unique<SyntheticShards>(o.videos, layout);
    files = synthetic->files;
  } else {
    files = data::expand_file_patterns(o.data);
  }
  int threads = o.threads > 0 ? o.threads : int(std::max(1u, std::thread::hardware_concurrency()));

  fmt::print(stderr, "bench loader: one core, read + CRC32C + decode + uniform-{} ...\n", o.k);
  measure_one_core(files, layout, o.k, 0.2);  // warm the page cache
  CoreResult core = measure_one_core(files, layout, o.k, o.seconds);
  fmt::print(stderr, "bench loader: loader with {} threads (batch 160) ...\n", threads);
  CoreResult loader = measure_loader(files, layout, o.k, threads, true);
  CoreResult student_loader = measure_loader(files, layout, o.k, threads, false);
  nlohmann::json peer;
  std::string peer_problem = o.no_peer ? "skipped (--no-peer)" : "";
  if (!o.no_peer) {
    fmt::print(stderr, "bench loader: Python peer (protobuf package) ...\n");
    peer = run_peer(o, files, peer_problem);
  }

  double core_rate = double(core.records) / core.seconds;
  double core_mb = double(core.bytes) / core.seconds / 1e6;
  double loader_rate = double(loader.records) / loader.seconds;
  double loader_mb = double(loader.bytes) / loader.seconds / 1e6;
  double student_rate = double(student_loader.records) / student_loader.seconds;
  double student_mb = double(student_loader.bytes) / student_loader.seconds / 1e6;
  double mean_record_kb = double(core.bytes) / double(std::max<int64_t>(core.records, 1)) / 1e3;
  double peer_rate = peer.is_object() ? peer["records"].get<double>() / peer["seconds"].get<double>() : 0.0;

  if (o.json) {
    nlohmann::json j = {{"files", files.size()},
                        {"mean_record_kb", mean_record_kb},
                        {"k", o.k},
                        {"one_core", {{"records_per_s", core_rate}, {"mb_per_s", core_mb}, {"records", core.records}}},
                        {"loader", {{"threads", threads}, {"views", "teacher+student"}, {"videos_per_s", loader_rate},
                                    {"mb_per_s", loader_mb}, {"videos", loader.records}}},
                        {"student_loader", {{"threads", threads}, {"views", "student"}, {"videos_per_s", student_rate},
                                            {"mb_per_s", student_mb}, {"videos", student_loader.records}}}};
    if (peer.is_object()) {
      j["python_peer"] = {{"records_per_s", peer_rate}, {"protobuf_backend", peer["protobuf_backend"]}};
      j["ratio_vs_python"] = core_rate / peer_rate;
    } else {
      j["python_peer"] = {{"error", peer_problem}};
    }
    std::cout << j.dump(2) << '\n';
    return;
  }
  fmt::print("bench loader: {} files, {:.1f} KB per record, uniform-{} sampling\n\n", files.size(), mean_record_kb, o.k);
  fmt::print("{:<44} {:>14} {:>10}\n", "path", "records/s", "MB/s");
  fmt::print("{:<44} {:>14.0f} {:>10.0f}\n", "fewerframes, one core", core_rate, core_mb);
  fmt::print("{:<44} {:>14.0f} {:>10.0f}\n", fmt::format("loader, {} threads, teacher + student", threads),
             loader_rate, loader_mb);
  fmt::print("{:<44} {:>14.0f} {:>10.0f}\n", fmt::format("loader, {} threads, student only", threads), student_rate,
             student_mb);
  if (peer.is_object()) {
    fmt::print("{:<44} {:>14.0f} {:>10.0f}\n",
               fmt::format("Python protobuf ({}), one core", peer["protobuf_backend"].get<std::string>()), peer_rate,
               peer_rate * mean_record_kb / 1e3);
    fmt::print("\none core: {:.1f}x the Python peer; target 20,000 records/s per core: {}\n", core_rate / peer_rate,
               core_rate >= 20000 ? "met" : "not met");
  } else {
    fmt::print("\nPython peer: {}\n", peer_problem);
  }
}

CommandAction setup_bench_loader(CLI::App& app) {
  auto o = std::make_shared<BenchLoaderOptions>();
  app.add_option("--data", o->data, "frame-level TFRecord files or globs (default: synthetic shards)");
  app.add_option("--videos", o->videos, "synthetic videos to write when --data is not given")
      ->check(CLI::Range(int64_t(1), int64_t(10000000)))
      ->capture_default_str();
  app.add_option("--k", o->k, "frames the student samples (uniform-k)")->check(CLI::Range(1, 300))->capture_default_str();
  app.add_option("--threads", o->threads, "loader threads (default: all cores)")->check(CLI::Range(0, 1024));
  app.add_option("--seconds", o->seconds, "time per single-core measurement")->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("--python", o->python, "interpreter for the peer")->capture_default_str();
  app.add_flag("--no-peer", o->no_peer, "skip the Python peer");
  app.add_flag("--json", o->json, "print one JSON object");
  return [o] { run_bench_loader(*o); };
}

const CommandRegistrar registrar({"bench loader", "Measure the data path: records/s per core, the loader, and a Python peer",
                                  setup_bench_loader});

}  // namespace
}  // namespace ff::tools
