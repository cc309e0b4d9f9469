// The `fewerframes` command. Subcommands register themselves (tools/command.h); this file only builds the
// CLI11 tree, parses, runs the chosen subcommand and turns any failure into one line on stderr.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>

#include "engine/device.h"
#include "tools/command.h"

namespace {
constexpr const char* kVersion = "0.1.0";

// Errors print as exactly one line, even when a message spans several.
std::string one_line(std::string message) {
  for (char& c : message)
    if (c == '\n' || c == '\r') c = ' ';
  return message;
}

std::string version_line() {
  return std::string("fewerframes ") + kVersion + " (CUDA backend " + (ff::cuda_compiled() ? "on" : "off") + ")";
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train and evaluate NeXtVLAD video classifiers that need fewer frames.", "fewerframes"};
  try {
    app.set_version_flag("--version", version_line());
    app.require_subcommand(1);
    ff::tools::CommandTree commands(app);
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
      return app.exit(error);  // CLI11's own message and exit code (0 for --help and --version)
    }
    commands.run_selected();
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "fewerframes: error: %s\n", one_line(error.what()).c_str());
    return 1;
  }
}
