// Files and helper scripts in tests: whole-file reads and writes, and running a tests/python/ script
// with the interpreter CMake found (FF_PYTHON), capturing its exit status and output.
#pragma once
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

namespace ff::test {

inline std::string read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary);
  file.write(bytes.data(), std::streamsize(bytes.size()));
}

struct CommandResult {
  int status = -1;  // as pclose returns it; 0 is success
  std::string command;
  std::string output;  // stdout and stderr together
};

// Runs tests/python/<script> with `arguments` (already quoted as needed). A missing interpreter or module
// shows as a non-zero status with the script's own message in the output: callers REQUIRE success,
// because a skipped cross-check would hide that it stopped running.
inline CommandResult run_python_script(const std::string& script, const std::string& arguments) {
  CommandResult result;
  result.command = std::string("'") + FF_PYTHON + "' '" + FF_SOURCE_DIR + "/tests/python/" + script + "' " + arguments;
  FILE* pipe = ::popen((result.command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) result.output.append(buffer, n);
  result.status = ::pclose(pipe);
  return result;
}

}  // namespace ff::test
