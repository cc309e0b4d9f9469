#include "engine/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace ff {
namespace {

// 1234567 -> "1,234,567"
std::string grouped(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? out.insert(0, 1, '-') : out;
}

std::string duration(double seconds) {
  int64_t s = int64_t(std::llround(seconds));
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  return std::to_string(s / 3600) + "h" + std::to_string(s % 3600 / 60) + "m";
}

}  // namespace

Progress::Progress(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_),
      terminal_(::isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() { finish(); }

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::format_line(const std::string& label, int64_t done, int64_t total, const std::string& unit,
                                  double seconds, bool final) {
  double rate = seconds > 0 ? double(done) / seconds : 0.0;
  char rate_text[64];
  std::snprintf(rate_text, sizeof rate_text, rate >= 100 ? "%.0f" : "%.1f", rate);
  std::string line = label + ": " + grouped(done);
  // Appended piece by piece: g++ 12 warns falsely (-Wrestrict) on "literal" + std::string temporaries.
  if (total > 0) line.append("/").append(grouped(total));
  line.append(" ").append(unit);
  if (total > 0) line.append(" (").append(std::to_string(int(100.0 * double(done) / double(total)))).append("%)");
  line += ", " + std::string(rate_text) + " " + unit + "/s";
  if (final)
    line += ", " + duration(seconds);
  else if (total > 0 && rate > 0)
    line += ", ETA " + duration(double(total - done) / rate);
  return line;
}

void Progress::advance(int64_t count) {
  done_ += count;
  maybe_print(false);
}

void Progress::maybe_print(bool final) {
  std::lock_guard lock(mutex_);
  if (finished_) return;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_print_).count();
  if (!final && since < (terminal_ ? 0.25 : 10.0)) return;
  last_print_ = now;
  std::string line = format_line(label_, done_, total_, unit_, elapsed_seconds(), final);
  if (terminal_)
    std::fprintf(stderr, "\r%s\033[K%s", line.c_str(), final ? "\n" : "");
  else
    std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

void Progress::finish() {
  maybe_print(true);
  std::lock_guard lock(mutex_);
  finished_ = true;
}

}  // namespace ff
