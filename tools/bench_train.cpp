// `fewerframes bench train`: end-to-end training speed, in videos/s and ms per step, of the teacher (every
// frame) and of students (k uniformly sampled frames, serial distillation with the label, prediction and
// representation losses against a frozen teacher), at several batch sizes, with PyTorch running the same
// model and step as the peer (bench/reference/bench_train_torch.py, eager and torch.compile) and the ratios.
//
// The engine's steps read synthetic shards through the real loader (tools/bench_train_data.h), so a step
// includes the loader, the copy to the device, dequantisation, the model, the losses, the backward pass and
// Adam (tools/bench_train_measure.h). The peer runs after the engine, on the same device, never alongside.
#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "data/youtube8m_class_counts.h"
#include "engine/atomic_file.h"
#include "engine/device.h"
#include "kernels/matmul.h"
#include "tools/bench_train_data.h"
#include "tools/bench_train_measure.h"
#include "tools/bench_train_peer.h"
#include "tools/command.h"

#if FF_WITH_CUDA
#include "kernels/cuda_context.h"
#endif

namespace ff::tools {
namespace {

struct BenchTrainOptions {
  std::string device;  // empty: cuda when a GPU is present, else cpu
  std::vector<std::string> models = {"teacher", "student"};
  std::vector<int64_t> batch_sizes = {160, 1024};
  std::vector<int64_t> k_values = {10, 30};
  int steps = 20;
  int warmup = 3;
  std::string precision = "fp32";
  int64_t videos = 0;  // 0: twice the largest batch
  int reader_threads = 0;  // 0: all cores
  uint64_t seed = 0;
  bool quick = false;
  bool json = false;
  bool no_peer = false;
  std::string json_out;  // also write the JSON object here
  std::string python = "python3";
  std::string peer_script;
  std::vector<std::string> peer_impls = {"eager", "compile"};
};

// --quick: a model and data small enough that a CPU run of every case takes seconds.
struct QuickDefaults {
  static constexpr int64_t rgb = 128, audio = 32, classes = 100, min_frames = 30, max_frames = 40;
  static inline const std::vector<int64_t> batch_sizes = {8, 32};
  static constexpr int steps = 3, warmup = 1;
};

struct Workload {
  data::YouTube8MLayout layout;
  data::SyntheticVideoConfig videos;
  NeXtVladConfig model;
};

Workload workload_for(bool quick, uint64_t seed) {
  Workload w;
  w.layout = data::YouTube8MLayout::v2018();
  w.videos.class_counts = data::youtube8m_class_counts();
  w.videos.seed = seed;
  if (quick) {
    w.layout.frame_features = {{"rgb", QuickDefaults::rgb}, {"audio", QuickDefaults::audio}};
    w.layout.num_classes = QuickDefaults::classes;
    w.videos.min_frames = QuickDefaults::min_frames;
    w.videos.max_frames = QuickDefaults::max_frames;
    w.model.max_frames = QuickDefaults::max_frames;
    w.model.cluster_size = 16;
    w.model.groups = 4;
    w.model.hidden_size = 128;
  }
  w.videos.num_classes = w.layout.num_classes;
  w.videos.rgb_size = w.layout.frame_features[0].size;
  w.videos.audio_size = w.layout.frame_features[1].size;
  w.model.rgb_feature_size = w.videos.rgb_size;
  w.model.audio_feature_size = w.videos.audio_size;
  w.model.num_classes = w.layout.num_classes;
  return w;
}

// The engine's GEMM precision for the run: TF32 and bf16 (fp32 storage and accumulation) are CUDA
// tensor-core modes; the CPU computes fp32 only.
GemmPrecision gemm_precision_for(const std::string& precision, Device device) {
  if (precision != "fp32" && !device.is_cuda()) throw std::invalid_argument("--precision " + precision + " needs --device cuda");
  return precision == "tf32" ? GemmPrecision::Tf32 : precision == "bf16" ? GemmPrecision::Bf16 : GemmPrecision::Fp32;
}

struct CaseReport {
  BenchTrainCase bench_case;
  int64_t frames = 0;  // the frames the trained model reads
  std::optional<BenchTrainTiming> timing;
  std::string error;
};

std::string case_label(const CaseReport& r) {
  return fmt::format("{} ({} frames) batch {}", r.bench_case.model_name(), r.frames, r.bench_case.batch_size);
}

// The peer's entry for one case as JSON for the report: its timing, its error, or null when it did not run.
nlohmann::json peer_json(const nlohmann::json* line) {
  if (!line) return nullptr;
  if (line->value("kind", "") == "error") return {{"error", line->value("error", "failed")}};
  nlohmann::json out = {{"ms_per_step", (*line)["ms_per_step"]},
                        {"videos_per_s", (*line)["videos_per_s"]},
                        {"first_step_s", (*line)["first_step_s"]}};
  if (line->contains("peak_memory_mb")) out["peak_memory_mb"] = (*line)["peak_memory_mb"];
  return out;
}

double peer_rate(const nlohmann::json* line) {
  return line && line->value("kind", "") == "result" ? (*line)["videos_per_s"].get<double>() : 0.0;
}

void run_bench_train(BenchTrainOptions o) {
  const Device device = o.device.empty() ? (cuda_available() ? Device::cuda() : Device::cpu()) : parse_device(o.device);
  if (device.is_cuda() && !cuda_available())
    throw std::runtime_error("--device " + device.str() + ": no usable GPU (driver or device missing)");
  for (const std::string& m : o.models)
    if (m != "teacher" && m != "student") throw std::invalid_argument("--models: unknown model '" + m + "'");
  const Workload w = workload_for(o.quick, o.seed);
  for (int64_t k : o.k_values)
    if (k < 1 || k > w.videos.min_frames)
      throw std::invalid_argument(fmt::format("--k-values: {} is outside [1, {}] (the shortest synthetic video)", k,
                                              w.videos.min_frames));
  GemmPrecisionScope precision(gemm_precision_for(o.precision, device));

  const int64_t largest_batch = *std::max_element(o.batch_sizes.begin(), o.batch_sizes.end());
  const int64_t videos = o.videos > 0 ? o.videos : std::max<int64_t>(64, 2 * largest_batch);
  if (videos < largest_batch)
    throw std::invalid_argument(fmt::format("--videos {} is fewer than the largest batch ({})", videos, largest_batch));
  const int threads = o.reader_threads > 0 ? o.reader_threads : int(std::max(2u, std::thread::hardware_concurrency()));

  fmt::print(stderr, "bench train: writing {} synthetic videos ...\n", videos);
  BenchTrainShards shards(videos, w.videos, w.layout);
  const bool any_student = std::count(o.models.begin(), o.models.end(), "student") > 0;
  const std::string teacher_checkpoint = (shards.dir() / "teacher.safetensors").string();
  if (any_student) write_bench_teacher(w.model, teacher_checkpoint, o.seed + 1);

  BenchTrainSetup setup;
  setup.model = w.model;
  setup.layout = w.layout;
  setup.data_pattern = shards.pattern();
  setup.teacher_checkpoint = teacher_checkpoint;
  setup.device = device;
  setup.reader_threads = threads;
  setup.warmup_steps = o.warmup;
  setup.steps = o.steps;
  setup.seed = o.seed;

  std::vector<CaseReport> reports;
  for (const std::string& m : o.models)
    for (int64_t k : m == "teacher" ? std::vector<int64_t>{0} : o.k_values)
      for (int64_t batch : o.batch_sizes) {
        CaseReport r;
        r.bench_case = {models::parse_training_mode(m), k, batch};
        r.frames = m == "teacher" ? w.model.max_frames : k;
        reports.push_back(r);
      }
  for (size_t i = 0; i < reports.size(); ++i) {
    CaseReport& r = reports[i];
    fmt::print(stderr, "bench train [{}/{}] fewerframes {} ...\n", i + 1, reports.size(), case_label(r));
    try {
      r.timing = measure_engine_training(setup, r.bench_case);
      fmt::print(stderr, "bench train [{}/{}] {:.2f} ms/step, {:.0f} videos/s\n", i + 1, reports.size(),
                 r.timing->ms_per_step, r.timing->videos_per_s);
    } catch (const std::exception& e) {  // one case out of memory must not hide the others
      r.error = e.what();
      fmt::print(stderr, "bench train [{}/{}] failed: {}\n", i + 1, reports.size(), r.error);
    }
  }

  TrainingPeerOutcome peer;
  std::string peer_status = "ran";
  if (o.no_peer) {
    peer_status = "skipped";
    peer.problem = "skipped (--no-peer)";
  } else {
    std::string searched;
    std::optional<std::string> script = locate_training_peer(o.peer_script, searched);
    if (!script) {
      peer_status = "unavailable";
      peer.problem = "bench_train_torch.py not found (looked in " + searched + "; give --peer-script)";
    } else if (o.python.find('/') != std::string::npos && !std::filesystem::exists(o.python)) {
      peer_status = "unavailable";
      peer.problem = "no interpreter at " + o.python + " (--python)";
    } else {
      fmt::print(stderr, "bench train: PyTorch peer {} ...\n", *script);
      TrainingPeerRequest request;
      request.python = o.python;
      request.script = *script;
      request.device = device.is_cuda() ? fmt::format("cuda:{}", device.index) : "cpu";
      request.precision = o.precision;
      request.model_config = to_json(w.model);
      request.models = o.models;
      request.impls = o.peer_impls;
      request.batch_sizes = o.batch_sizes;
      request.k_values = o.k_values;
      const models::LossWeights& lw = setup.student_weights;
      request.loss_weights = fmt::format("{},{},{}", lw.label, lw.prediction, lw.representation);
      request.min_frames = w.videos.min_frames;
      request.steps = o.steps;
      request.warmup = o.warmup;
      request.seed = o.seed;
      peer = run_training_peer(request);
      if (!peer.ran) peer_status = "unavailable";
    }
  }

  const std::string device_name = device.is_cuda() ? cuda_device_name(device.index) : "cpu";
  if (o.json || !o.json_out.empty()) {
    nlohmann::ordered_json j;
    j["device"] = device.str();
    j["device_name"] = device_name;
    j["precision"] = o.precision;
    j["quick"] = o.quick;
    j["steps"] = o.steps;
    j["warmup_steps"] = o.warmup;
    j["model_config"] = to_json(w.model);
    j["student_loss_weights"] = {{"label", setup.student_weights.label},
                                 {"prediction", setup.student_weights.prediction},
                                 {"representation", setup.student_weights.representation}};
    j["data"] = {{"videos", shards.videos()},
                 {"mean_frames", shards.mean_frames()},
                 {"mean_record_kb", double(shards.bytes()) / double(shards.videos()) / 1e3},
                 {"reader_threads", threads}};
    j["peer"] = {{"status", peer_status}};
    if (!peer.problem.empty()) j["peer"]["reason"] = peer.problem;
    if (!peer.info.is_null()) j["peer"]["info"] = peer.info;
    j["results"] = nlohmann::ordered_json::array();
    for (const CaseReport& r : reports) {
      const std::string model = r.bench_case.model_name();
      nlohmann::ordered_json row;
      row["model"] = model;
      row["k"] = model == "student" ? nlohmann::json(r.bench_case.k) : nlohmann::json(nullptr);
      row["frames"] = r.frames;
      row["batch"] = r.bench_case.batch_size;
      if (r.timing)
        row["fewerframes"] = {{"ms_per_step", r.timing->ms_per_step},
                              {"videos_per_s", r.timing->videos_per_s},
                              {"loader_wait_ms_per_step", r.timing->loader_wait_ms_per_step},
                              {"to_device_ms_per_step", r.timing->to_device_ms_per_step},
                              {"steps", r.timing->steps},
                              {"last_loss", r.timing->last_loss}};
      else
        row["fewerframes"] = {{"error", r.error}};
      for (const char* impl : {"eager", "compile"}) {
        const nlohmann::json* line = peer.find(impl, model, r.bench_case.k, r.bench_case.batch_size);
        row[std::string("torch_") + impl] = peer_json(line);
        const double rate = peer_rate(line);
        row[std::string("ratio_vs_") + impl] =
            r.timing && rate > 0 ? nlohmann::json(r.timing->videos_per_s / rate) : nlohmann::json(nullptr);
      }
      j["results"].push_back(std::move(row));
    }
    const std::string text = j.dump(2) + "\n";
    if (!o.json_out.empty())
      write_file_atomically(o.json_out, [&](AtomicFileWriter& out) { out.write(text.data(), text.size()); });
    if (o.json) {
      std::cout << text << std::flush;
      return;
    }
  }

  fmt::print("bench train: {} ({}), {}, {} synthetic videos ({:.0f} frames on average), {} loader threads, "
             "{} timed steps after {} warm-up\n",
             device.str(), device_name, o.precision, shards.videos(), shards.mean_frames(), threads, o.steps, o.warmup);
  fmt::print("student: serial distillation, losses label + prediction + representation, frozen teacher on {} frames\n\n",
             w.model.max_frames);
  fmt::print("{:<8} {:>6} {:>6} {:>10} {:>10} {:>9} {:>9} | {:>11} {:>11} {:>8} {:>8}\n", "model", "frames", "batch",
             "ms/step", "videos/s", "wait ms", "copy ms", "eager v/s", "compile v/s", "x eager", "x compile");
  auto rate_cell = [](const nlohmann::json* line) {
    if (!line) return std::string("-");
    return line->value("kind", "") == "result" ? fmt::format("{:.0f}", (*line)["videos_per_s"].get<double>())
                                               : std::string("failed");
  };
  for (const CaseReport& r : reports) {
    const std::string model = r.bench_case.model_name();
    const nlohmann::json* eager = peer.find("eager", model, r.bench_case.k, r.bench_case.batch_size);
    const nlohmann::json* compiled = peer.find("compile", model, r.bench_case.k, r.bench_case.batch_size);
    auto ratio = [&](const nlohmann::json* line) {
      const double rate = peer_rate(line);
      return r.timing && rate > 0 ? fmt::format("{:.2f}x", r.timing->videos_per_s / rate) : std::string("-");
    };
    if (r.timing)
      fmt::print("{:<8} {:>6} {:>6} {:>10.2f} {:>10.0f} {:>9.2f} {:>9.2f} | {:>11} {:>11} {:>8} {:>8}\n", model,
                 r.frames, r.bench_case.batch_size, r.timing->ms_per_step, r.timing->videos_per_s,
                 r.timing->loader_wait_ms_per_step, r.timing->to_device_ms_per_step, rate_cell(eager),
                 rate_cell(compiled), ratio(eager), ratio(compiled));
    else
      fmt::print("{:<8} {:>6} {:>6} failed: {}\n", model, r.frames, r.bench_case.batch_size, r.error);
  }
  fmt::print("\nwait ms: blocked on the loader per step; copy ms: batch to the device per step (both inside ms/step).\n");
  if (peer.ran) {
    std::string impls;
    for (const std::string& impl : o.peer_impls) impls += (impls.empty() ? "" : " and ") + impl;
    fmt::print("peer: PyTorch {} on {} ({}), batches already in pinned host memory; "
               "x eager / x compile = fewerframes videos/s over the peer's.\n",
               peer.info.value("torch", "?"), peer.info.value("device", "?"), impls);
    for (const nlohmann::json& c : peer.cases)
      if (c.value("kind", "") == "error")
        fmt::print("peer {} {} batch {} failed: {}\n", c.value("impl", ""), c.value("model", ""),
                   c.value("batch", int64_t(0)), c.value("error", ""));
    if (!peer.problem.empty()) fmt::print("peer: {}\n", peer.problem);
  } else {
    fmt::print("PyTorch peer: {}\n", peer.problem);
  }
}

// The precisions the engine and the peer both run.
CLI::Validator precision_check() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (value == "fp32" || value == "tf32" || value == "bf16") return "";
        return "'" + value + "' is not a precision (fp32, tf32 or bf16)";
      },
      "fp32|tf32|bf16");
}

CommandAction setup_bench_train(CLI::App& app) {
  auto o = std::make_shared<BenchTrainOptions>();
  app.add_option("--device", o->device, "cpu or cuda[:N] (default: cuda when a GPU is present, else cpu)");
  app.add_option("--models", o->models, "teacher, student or both, comma-separated")->delimiter(',')
      ->capture_default_str();
  CLI::Option* batch_sizes = app.add_option("--batch-sizes", o->batch_sizes, "videos per step, comma-separated")
                                 ->delimiter(',')
                                 ->check(CLI::Range(int64_t(1), int64_t(1) << 20))
                                 ->capture_default_str();
  app.add_option("--k-values", o->k_values, "frames each student samples, comma-separated")->delimiter(',')
      ->capture_default_str();
  CLI::Option* steps = app.add_option("--steps", o->steps, "timed steps per configuration")
                           ->check(CLI::Range(1, 1000000))
                           ->capture_default_str();
  CLI::Option* warmup = app.add_option("--warmup", o->warmup, "untimed steps before them")
                            ->check(CLI::Range(0, 1000000))
                            ->capture_default_str();
  app.add_option("--precision", o->precision, "GEMM precision: fp32, or on CUDA tf32 or bf16 tensor cores (fp32 accumulation)")
      ->check(precision_check())
      ->capture_default_str();
  app.add_option("--videos", o->videos, "synthetic videos to write (default: twice the largest batch, at least 64)")
      ->check(CLI::Range(int64_t(0), int64_t(10000000)));
  app.add_option("--reader-threads", o->reader_threads, "loader threads (default: all cores)")->check(CLI::Range(0, 1024));
  app.add_option("--seed", o->seed, "data, initialisation and dropout seed")->capture_default_str();
  app.add_flag("--quick", o->quick,
               fmt::format("a tiny model ({}-d rgb, {} frames, {} classes) and batches {},{}, {} steps: seconds on a CPU",
                           QuickDefaults::rgb, QuickDefaults::max_frames, QuickDefaults::classes,
                           QuickDefaults::batch_sizes[0], QuickDefaults::batch_sizes[1], QuickDefaults::steps));
  app.add_flag("--json", o->json, "print one JSON object on stdout (progress stays on stderr)");
  app.add_option("--json-out", o->json_out, "also write the JSON object to this file (the table stays on stdout)");
  app.add_flag("--no-peer", o->no_peer, "skip the PyTorch peer");
  app.add_option("--python", o->python, "interpreter that has PyTorch, for the peer")->capture_default_str();
  app.add_option("--peer-impls", o->peer_impls, "PyTorch modes the peer runs: eager, compile or both")
      ->delimiter(',')
      ->check(CLI::IsMember({"eager", "compile"}))
      ->capture_default_str();
  app.add_option("--peer-script", o->peer_script,
                 "the peer (default: ../bench/reference/bench_train_torch.py next to this binary, else the source tree)");
  return [o, batch_sizes, steps, warmup] {
    BenchTrainOptions options = *o;
    if (options.quick) {  // the small defaults, for what the command line left unset
      if (batch_sizes->count() == 0) options.batch_sizes = QuickDefaults::batch_sizes;
      if (steps->count() == 0) options.steps = QuickDefaults::steps;
      if (warmup->count() == 0) options.warmup = QuickDefaults::warmup;
    }
    run_bench_train(std::move(options));
  };
}

const CommandRegistrar registrar({"bench train",
                                  "Measure end-to-end training videos/s of teacher and students against PyTorch",
                                  setup_bench_train});

}  // namespace
}  // namespace ff::tools
