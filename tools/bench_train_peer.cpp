#include "tools/bench_train_peer.h"

#include <fmt/core.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <stdexcept>

#ifndef FF_SOURCE_DIR
#define FF_SOURCE_DIR "."
#endif

namespace ff::tools {

namespace {
constexpr const char* kPeerScript = "bench/reference/bench_train_torch.py";

// One shell word, whatever the text holds.
std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

template <class T>
std::string joined(const std::vector<T>& values) {
  std::string out;
  for (const T& v : values) {
    if (!out.empty()) out += ',';
    out += fmt::format("{}", v);
  }
  return out;
}
}  // namespace

std::optional<std::string> locate_training_peer(const std::string& explicit_path, std::string& searched) {
  if (!explicit_path.empty()) {
    if (!std::filesystem::is_regular_file(explicit_path))
      throw std::invalid_argument("--peer-script: no such file: " + explicit_path);
    return explicit_path;
  }
  std::vector<std::filesystem::path> candidates;
  std::error_code error;
  std::filesystem::path executable = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) candidates.push_back(executable.parent_path().parent_path() / kPeerScript);
  candidates.push_back(std::filesystem::path(FF_SOURCE_DIR) / kPeerScript);
  searched.clear();
  for (const std::filesystem::path& candidate : candidates) {
    if (std::filesystem::is_regular_file(candidate, error)) return candidate.lexically_normal().string();
    searched += (searched.empty() ? "" : ", ") + candidate.lexically_normal().string();
  }
  return std::nullopt;
}

const nlohmann::json* TrainingPeerOutcome::find(const std::string& impl, const std::string& model, int64_t k,
                                                int64_t batch) const {
  for (const nlohmann::json& c : cases) {
    if (c.value("impl", "") != impl || c.value("model", "") != model || c.value("batch", int64_t(-1)) != batch)
      continue;
    if (model == "student" && c.value("k", int64_t(-1)) != k) continue;
    return &c;
  }
  return nullptr;
}

TrainingPeerOutcome run_training_peer(const TrainingPeerRequest& r) {
  std::string command = shell_quote(r.python) + " " + shell_quote(r.script);
  command += " --device " + shell_quote(r.device);
  command += " --precision " + shell_quote(r.precision);
  command += " --model-config " + shell_quote(r.model_config.dump());
  command += " --models " + shell_quote(joined(r.models));
  command += " --impls " + shell_quote(joined(r.impls));
  command += " --batch-sizes " + shell_quote(joined(r.batch_sizes));
  command += " --k-values " + shell_quote(joined(r.k_values));
  command += " --loss-weights " + shell_quote(r.loss_weights);
  command += fmt::format(" --min-frames {} --steps {} --warmup {} --seed {}", r.min_frames, r.steps, r.warmup,
                         r.seed);

  TrainingPeerOutcome outcome;
  std::fflush(nullptr);  // the child inherits stderr: no interleaved half-lines
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) {
    outcome.problem = "cannot start " + r.python;
    return outcome;
  }
  std::string output, line;
  std::array<char, 4096> chunk;
  while (size_t n = std::fread(chunk.data(), 1, chunk.size(), pipe)) output.append(chunk.data(), n);
  const int status = ::pclose(pipe);

  std::string unavailable, stray;
  std::istringstream lines(output);
  while (std::getline(lines, line)) {
    nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (!record.is_object() || !record.contains("kind")) {
      if (!line.empty()) stray = line;  // something other than the peer's records
      continue;
    }
    const std::string kind = record["kind"].is_string() ? record["kind"].get<std::string>() : "";
    if (kind == "info")
      outcome.info = record;
    else if (kind == "unavailable")
      unavailable = record.value("reason", "unavailable");
    else
      outcome.cases.push_back(std::move(record));
  }
  outcome.ran = !outcome.cases.empty();
  if (!unavailable.empty())
    outcome.problem = unavailable;
  else if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    outcome.problem = fmt::format("{} {} exited with status {}{}", r.python, r.script,
                                  WIFEXITED(status) ? WEXITSTATUS(status) : status,
                                  stray.empty() ? "" : " (" + stray + ")");
  else if (!outcome.ran)
    outcome.problem = "the peer printed no result";
  return outcome;
}

}  // namespace ff::tools
