// The subcommand registry of the `fewerframes` command. Each subcommand lives in its own file
// tools/<name>.cpp and registers itself with a static CommandRegistrar, so main.cpp never lists them:
//
//   namespace {  // in tools/bench_ops.cpp
//   ff::tools::CommandAction setup_bench_ops(CLI::App& app) {
//     auto options = std::make_shared<OpsOptions>();  // outlives setup: the action reads it later
//     app.add_option("--repeat", options->repeat, "timed runs per measurement");
//     return [options] { run_bench_ops(*options); };  // runs after a successful parse
//   }
//   const ff::tools::CommandRegistrar registrar({"bench ops", "Measure op throughput", setup_bench_ops});
//   }  // namespace
//
// The path "bench ops" makes `ops` a child of the group "bench" (tools/bench.cpp); a top-level command
// is just "train".
//
// A group (e.g. "bench") is registered like a command but with no setup: it only holds children and
// requires one of them on the command line. Paths are words separated by single spaces; a parent group
// must be registered (in any file, in any order) before the tree is built.
//
// The registrars run during static initialisation, which only happens for object files that are linked
// in: tools/*.cpp are compiled straight into the executable, never into a static library, for this reason.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace ff::tools {

// What a subcommand does once its options are parsed. Throwing reports one error line and exit code 1.
using CommandAction = std::function<void()>;

struct Command {
  std::string path;         // "train", "bench ops"
  std::string description;  // shown by --help
  // Declares the subcommand's options on `app` and returns its action; empty for a group.
  std::function<CommandAction(CLI::App&)> setup;

  bool is_group() const { return !setup; }
};

// Every registered command and group, in registration order (which is unspecified across files).
std::vector<Command>& command_registry();

struct CommandRegistrar {
  explicit CommandRegistrar(Command command);
};

// The CLI11 tree built from the registry, and the action each leaf subcommand runs.
class CommandTree {
 public:
  // Adds every registered group and command under `root` (throws std::logic_error on a duplicate path or
  // a missing parent group). `root` must outlive the tree.
  explicit CommandTree(CLI::App& root);

  // Runs the action of the leaf subcommand selected by the parsed command line.
  void run_selected() const;

 private:
  CLI::App& root_;
  std::map<const CLI::App*, CommandAction> actions_;
};

// Runs the registered leaf command `path` ("make-data", "train") in this process with `args` as its
// command line (no shell: globs and spaces pass through unchanged), exactly as `fewerframes PATH ARGS...`
// would. Used by commands that chain others (demo). Parse errors throw std::invalid_argument naming the
// command; the command's own errors propagate.
void run_command(const std::string& path, const std::vector<std::string>& args);

}  // namespace ff::tools
