// The PyTorch peer of `fewerframes bench train` (bench/reference/bench_train_torch.py): finding the script,
// running it once for every configuration, and reading its JSON lines. A missing interpreter, PyTorch or
// device is reported as the reason the peer did not run, never as a failure of the benchmark.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace ff::tools {

// The script: `explicit_path` when given (it must exist: throws std::invalid_argument otherwise); else
// ../bench/reference/ next to the running executable (the GPU bundle's layout: bin/fewerframes); else the
// source tree the binary was built from. nullopt when none exists; `searched` then lists where it looked.
std::optional<std::string> locate_training_peer(const std::string& explicit_path, std::string& searched);

struct TrainingPeerRequest {
  std::string python;
  std::string script;
  std::string device;     // torch's spelling: "cpu", "cuda", "cuda:N"
  std::string precision;  // fp32, tf32
  nlohmann::json model_config;  // the engine's NeXtVladConfig as JSON
  std::vector<std::string> models;  // "teacher", "student"
  std::vector<std::string> impls = {"eager", "compile"};
  std::vector<int64_t> batch_sizes, k_values;
  std::string loss_weights;  // "label,prediction,representation"
  int64_t min_frames = 60;
  int steps = 20, warmup = 3;
  uint64_t seed = 0;
};

struct TrainingPeerOutcome {
  bool ran = false;
  std::string problem;          // why it did not run, when !ran
  nlohmann::json info;          // the peer's {"kind": "info"} line
  std::vector<nlohmann::json> cases;  // "result" and "error" lines, in order

  // The "result" or "error" line of one case (impl "eager" or "compile"; k ignored for the teacher), or
  // nullptr when the peer did not reach it.
  const nlohmann::json* find(const std::string& impl, const std::string& model, int64_t k, int64_t batch) const;
};

// Runs the peer with its stderr passed through (progress), reading stdout line by line.
TrainingPeerOutcome run_training_peer(const TrainingPeerRequest& request);

}  // namespace ff::tools
