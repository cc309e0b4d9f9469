// Wall-clock timing of one operation on a device: a warm-up run, then the median of repeated runs. CPU runs
// are timed with the steady clock; CUDA runs with events recorded on the current stream around the work,
// so only device time between the two events counts, not the host's launch queueing before it.
#pragma once
#include <memory>
#include <vector>

#include "engine/device.h"

namespace ff::tools {

// Measures one interval on a device. start() waits for earlier queued work so it is not counted.
class DeviceTimer {
 public:
  explicit DeviceTimer(Device device);
  ~DeviceTimer();
  DeviceTimer(const DeviceTimer&) = delete;
  DeviceTimer& operator=(const DeviceTimer&) = delete;

  void start();
  double stop_ms();  // waits for the work queued since start()

 private:
  struct State;
  Device device_;
  std::unique_ptr<State> state_;
};

double median(std::vector<double> values);  // throws std::invalid_argument when empty

// Runs `op` once untimed (warm-up: pool allocations, cuBLAS heuristics, caches), then `repeats` timed
// times, and returns the median milliseconds. What `op` returns is kept until the interval ends, so freeing
// it is not timed.
template <class Op>
double time_median_ms(Device device, int repeats, Op&& op) {
  DeviceTimer timer(device);
  { auto warm_up = op(); }
  synchronize(device);
  std::vector<double> runs;
  for (int i = 0; i < repeats; ++i) {
    timer.start();
    auto result = op();
    runs.push_back(timer.stop_ms());
  }
  return median(std::move(runs));
}

}  // namespace ff::tools
