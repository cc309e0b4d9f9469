// `fewerframes demo`: the paper's experiment in miniature, end to end, with nothing to download. It writes a
// synthetic YouTube-8M set (labels live in short stretches of each video, so k frames can miss them), then
// trains three models of one reduced NeXtVLAD architecture through the same commands a user would type:
//   Teacher    every frame, label loss
//   Uniform-k  k uniformly sampled frames, label loss (the no-distillation baseline)
//   Student    k frames, distilled from the frozen teacher (label + prediction + representation losses)
// and prints each one's validation GAP@20 and mAP beside its frame-level FLOPs per video. Every step is
// echoed as the equivalent command line, so any part can be rerun or scaled up by hand.
#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/loader.h"
#include "engine/device.h"
#include "engine/progress.h"
#include "models/nextvlad_cost.h"
#include "tools/command.h"

namespace ff::tools {
namespace {

struct DemoOptions {
  std::string out = "fewerframes-demo", device = "auto";
  int64_t k = 10, classes = 25, train_videos = 3000, validate_videos = 300;
  int64_t min_frames = 60, max_frames = 150;
  int64_t teacher_steps = 300, student_steps = 300, batch_size = 32;
  // The reduced architecture: the real feature sizes (1024 rgb + 128 audio) and the real layers, but
  // fewer clusters, groups and hidden units than the paper's K=128, G=8, lambda=2, H=2048, so that the three
  // runs take minutes on two CPU cores. --full-model trains the paper's size instead.
  int64_t cluster_size = 16, groups = 4, expansion = 1, hidden = 256, gating_reduction = 4;
  // Short runs: a larger step than the original's 2e-4, and batch-norm running statistics that follow the
  // batches within a few dozen steps (the original's 0.999 needs thousands before inference is right).
  double learning_rate = 1e-3, dropout = 0.2, bn_momentum = 0.9;
  // The squared L2 distance between encodings is summed over thousands of dimensions, so it gets a small
  // weight to stay comparable with the label loss.
  double prediction_weight = 1.0, representation_weight = 0.001;
  int reader_threads = 2;
  uint64_t seed = 1;
  bool full_model = false;
  int64_t ensemble = 1;  // > 1: each of the three is an ensemble of this many branches (docs/ensemble.md)
};

struct DemoRun {
  std::string name;     // "Teacher", "Uniform-10", "Student-10"
  std::string folder;   // run directory under --out
  std::vector<std::string> train_args;
  double frames_per_video = 0;  // frames the model reads, averaged over the validation videos
};

std::string quoted(const std::string& word) {
  return word.find_first_of(" *?'\"") == std::string::npos ? word : "'" + word + "'";
}

void echo_and_run(const std::string& path, const std::vector<std::string>& args) {
  std::string line = "fewerframes " + path;
  for (const std::string& word : args) line += " " + quoted(word);
  fmt::print("\n$ {}\n", line);
  std::fflush(stdout);
  run_command(path, args);
}

// The last validation line of a run's log.jsonl.
nlohmann::json final_validation(const std::filesystem::path& run) {
  std::ifstream in(run / "log.jsonl");
  if (!in) throw std::runtime_error("cannot read " + (run / "log.jsonl").string());
  nlohmann::json last;
  for (std::string line; std::getline(in, line);) {
    nlohmann::json entry = nlohmann::json::parse(line, nullptr, false);
    if (entry.is_object() && entry.contains("validation_gap")) last = entry;
  }
  if (last.is_null()) throw std::runtime_error((run / "log.jsonl").string() + " holds no validation result");
  return last;
}

// Mean real frame count of the videos matched by `pattern` (what the teacher reads per video).
double mean_frames(const std::string& pattern, int64_t max_frames) {
  data::LoaderOptions options;
  options.patterns = {pattern};
  options.views = {{"all", {data::FrameSampler::All, 0, max_frames}}};
  options.batch_size = 256;
  data::Loader loader(options);
  data::Batch batch;
  double frames = 0;
  int64_t videos = 0;
  while (loader.next(batch)) {
    for (int32_t count : batch.views.front().frame_counts) frames += count;
    videos += batch.size;
  }
  if (videos == 0) throw std::runtime_error("no video in " + pattern);
  return frames / double(videos);
}

void run_demo(const DemoOptions& o) {
  if (o.k < 1 || o.k > o.min_frames)
    throw std::invalid_argument(fmt::format("--k must lie in [1, --min-frames = {}]", o.min_frames));
  const std::string device =
      o.device == "auto" ? (cuda_available() ? "cuda" : "cpu") : parse_device(o.device).str();
  const std::filesystem::path out(o.out);
  const std::string data_dir = (out / "data").string();
  const std::string train_pattern = data_dir + "/frame/train*.tfrecord";
  const std::string validate_pattern = data_dir + "/frame/validate*.tfrecord";

  NeXtVladConfig model;  // the architecture the three runs share, for the cost column
  if (!o.full_model) {
    model.cluster_size = o.cluster_size;
    model.groups = o.groups;
    model.expansion = o.expansion;
    model.hidden_size = o.hidden;
    model.gating_reduction = o.gating_reduction;
  }
  model.num_classes = o.classes;
  model.max_frames = o.max_frames;
  model.ensemble_size = o.ensemble;
  validate(model);

  fmt::print("fewerframes demo: teacher (all frames) vs Uniform-{0} vs distilled student ({0} frames) on {1}\n", o.k,
             device);
  if (o.full_model)
    fmt::print("model: the paper's NeXtVLAD (K=128, G=8, lambda=2, H=2048, r=8), {} classes\n", o.classes);
  else
    fmt::print("model: a reduced NeXtVLAD for a quick run (K={}, G={}, lambda={}, H={}, r={}; the paper's is "
               "K=128, G=8, lambda=2, H=2048, r=8: add --full-model), {} classes\n",
               model.cluster_size, model.groups, model.expansion, model.hidden_size, model.gating_reduction,
               o.classes);
  if (o.ensemble > 1)
    fmt::print("each of the three is an ensemble of {} such models with on-the-fly distillation\n", o.ensemble);

  std::filesystem::create_directories(out);
  echo_and_run("make-data", {"--out", data_dir, "--train", std::to_string(o.train_videos), "--validate",
                             std::to_string(o.validate_videos), "--level", "frame", "--classes",
                             std::to_string(o.classes), "--min-frames", std::to_string(o.min_frames),
                             "--max-frames", std::to_string(o.max_frames), "--seed", std::to_string(o.seed),
                             "--videos-per-shard", std::to_string(std::max<int64_t>(1, o.train_videos / 4))});

  auto common = [&](const std::string& folder, int64_t steps) {
    std::vector<std::string> a = {"--train", train_pattern, "--validate", validate_pattern,
                                  "--run-dir", (out / folder).string(), "--device", device,
                                  "--classes", std::to_string(o.classes), "--max-frames", std::to_string(o.max_frames),
                                  "--steps", std::to_string(steps), "--validate-every", std::to_string(steps),
                                  "--checkpoint-every", "0", "--log-every", "50",
                                  "--batch-size", std::to_string(o.batch_size),
                                  "--learning-rate", fmt::format("{}", o.learning_rate),
                                  "--dropout", fmt::format("{}", o.dropout),
                                  "--bn-momentum", fmt::format("{}", o.bn_momentum),
                                  "--reader-threads", std::to_string(o.reader_threads),
                                  "--seed", std::to_string(o.seed)};
    if (!o.full_model)
      a.insert(a.end(), {"--cluster-size", std::to_string(o.cluster_size), "--groups", std::to_string(o.groups),
                         "--expansion", std::to_string(o.expansion), "--hidden", std::to_string(o.hidden),
                         "--gating-reduction", std::to_string(o.gating_reduction)});
    if (o.ensemble > 1) a.insert(a.end(), {"--ensemble", std::to_string(o.ensemble)});
    return a;
  };
  const std::string k = std::to_string(o.k);
  const std::string teacher_checkpoint = (out / "teacher" / "checkpoint.safetensors").string();
  std::vector<DemoRun> runs = {
      {"Teacher", "teacher", common("teacher", o.teacher_steps), 0},
      {"Uniform-" + k, "uniform", common("uniform", o.student_steps), double(o.k)},
      {"Student-" + k, "student", common("student", o.student_steps), double(o.k)},
  };
  runs[0].train_args.insert(runs[0].train_args.end(), {"--mode", "teacher"});
  runs[1].train_args.insert(runs[1].train_args.end(), {"--mode", "uniform", "--k", k});
  runs[2].train_args.insert(runs[2].train_args.end(),
                            {"--mode", "student", "--k", k, "--teacher", teacher_checkpoint, "--label-weight", "1",
                             "--prediction-weight", fmt::format("{}", o.prediction_weight),
                             "--representation-weight", fmt::format("{}", o.representation_weight)});
  runs[0].frames_per_video = mean_frames(validate_pattern, o.max_frames);

  for (const DemoRun& run : runs) {
    // A previous demo's log in the same folder would be appended to; each run starts clean.
    std::filesystem::remove_all(out / run.folder);
    echo_and_run("train", run.train_args);
  }

  const NeXtVladCost cost = nextvlad_cost(model);
  const double teacher_flops = cost.frame_flops(runs[0].frames_per_video);
  nlohmann::json results = nlohmann::json::array();
  std::string table = fmt::format("| {:<11} | {:>12} | {:>27} | {:>6} | {:>6} |\n", "Model", "Frames/video",
                                  "Frame-level MFLOPs/video", "GAP@20", "mAP");
  table += "|-------------|-------------:|----------------------------:|-------:|-------:|\n";
  for (const DemoRun& run : runs) {
    nlohmann::json v = final_validation(out / run.folder);
    const double flops = cost.frame_flops(run.frames_per_video);
    table += fmt::format("| {:<11} | {:>12.1f} | {:>18.1f} ({:>4.0f}%) | {:>6.3f} | {:>6.3f} |\n", run.name,
                         run.frames_per_video, flops / 1e6, 100 * flops / teacher_flops,
                         v["validation_gap"].get<double>(), v["validation_map"].get<double>());
    results.push_back({{"model", run.name}, {"frames_per_video", run.frames_per_video},
                       {"frame_level_flops_per_video", flops}, {"gap", v["validation_gap"]},
                       {"map", v["validation_map"]}, {"hit_at_1", v["validation_hit_at_1"]},
                       {"validation_videos", v["validation_examples"]}, {"run_dir", (out / run.folder).string()}});
  }
  const double uniform_gap = results[1]["gap"], student_gap = results[2]["gap"], teacher_gap = results[0]["gap"];
  std::string verdict =
      student_gap > uniform_gap
          ? fmt::format("the distilled student beats Uniform-{} by {:+.3f} GAP, at the same frame cost", o.k,
                        student_gap - uniform_gap)
          : fmt::format("the distilled student does not beat Uniform-{} here ({:+.3f} GAP)", o.k,
                        student_gap - uniform_gap);
  fmt::print("\nValidation ({} videos, {} classes; frame-level FLOPs of the forward pass, the head's {:.1f} MFLOPs "
             "per video left out):\n\n{}\n{}; it keeps {:.0f}% of the teacher's GAP.\n",
             results[0]["validation_videos"].get<int64_t>(), o.classes, cost.video_flops / 1e6, table, verdict,
             100 * student_gap / teacher_gap);

  const std::filesystem::path summary = out / "results.json";
  std::ofstream file(summary);
  file << nlohmann::json{{"device", device}, {"k", o.k}, {"classes", o.classes}, {"runs", results}}.dump(2) << "\n";
  if (!file) throw std::runtime_error("cannot write " + summary.string());
  fmt::print("results: {}; runs, logs and checkpoints under {}\n", summary.string(), out.string());
}

CommandAction setup_demo(CLI::App& app) {
  auto o = std::make_shared<DemoOptions>();
  app.add_option("--out", o->out, "folder for the data, the three runs and results.json")->capture_default_str();
  app.add_option("--device", o->device, "auto (cuda when there is a GPU), cpu or cuda[:N]")->capture_default_str();
  app.add_option("--k", o->k, "frames the Uniform-k baseline and the student read")->capture_default_str();
  app.add_option("--classes", o->classes, "classes of the synthetic set")->check(CLI::Range(2, 3862))->capture_default_str();
  app.add_option("--train-videos", o->train_videos, "synthetic training videos")->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--validate-videos", o->validate_videos, "synthetic validation videos")->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--min-frames", o->min_frames, "shortest synthetic video")->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--max-frames", o->max_frames, "longest synthetic video")->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--teacher-steps", o->teacher_steps, "training steps of the teacher")->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--student-steps", o->student_steps, "training steps of Uniform-k and of the student")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--batch-size", o->batch_size, "videos per step")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--learning-rate", o->learning_rate, "Adam learning rate of all three runs")->capture_default_str();
  app.add_option("--dropout", o->dropout, "dropout on the encoding")->capture_default_str();
  app.add_option("--bn-momentum", o->bn_momentum, "decay of the batch-norm running statistics")->capture_default_str();
  app.add_option("--prediction-weight", o->prediction_weight, "the student's prediction-loss weight")
      ->capture_default_str();
  app.add_option("--representation-weight", o->representation_weight, "the student's representation-loss weight")
      ->capture_default_str();
  app.add_option("--reader-threads", o->reader_threads, "loader threads")->capture_default_str();
  app.add_option("--seed", o->seed, "data, initialisation and shuffling seed")->capture_default_str();
  app.add_flag("--full-model", o->full_model, "train the paper's full-size NeXtVLAD (slow without a GPU)");
  app.add_option("--ensemble", o->ensemble,
                 "train each of the three as an ensemble of this many models with on-the-fly distillation "
                 "(the supplementary's ensemble of 3); the runs take about that many times longer")
      ->check(CLI::Range(int64_t(1), kMaxEnsembleSize))
      ->capture_default_str();
  return [o] { run_demo(*o); };
}

const CommandRegistrar registrar({"demo", "Teacher vs Uniform-k vs distilled student on synthetic data, end to end",
                                  setup_demo});

}  // namespace
}  // namespace ff::tools
