// A progress line for long work: "make-data: 1,200/2,500 videos (48%), 850 videos/s, ETA 2s". On a
// terminal the line is redrawn in place (at most 4 times a second); otherwise a line is printed every
// 10 seconds, so logs of batch jobs stay readable. advance() may be called from any thread.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace ff {

class Progress {
 public:
  // total <= 0: unknown (no percentage, no ETA).
  Progress(std::string label, int64_t total, std::string unit);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(int64_t count);
  // Prints the final line (count, rate, elapsed time). Called by the destructor if not before.
  void finish();

  int64_t done() const { return done_; }
  double elapsed_seconds() const;

  // The text of a progress line, separated from the printing for tests.
  static std::string format_line(const std::string& label, int64_t done, int64_t total, const std::string& unit,
                                 double seconds, bool final);

 private:
  void maybe_print(bool final);

  std::string label_, unit_;
  int64_t total_;
  std::atomic<int64_t> done_{0};
  std::chrono::steady_clock::time_point start_, last_print_;
  std::mutex mutex_;
  bool terminal_;
  bool finished_ = false;
};

}  // namespace ff
