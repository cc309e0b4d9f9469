#include "tools/timing.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#if FF_WITH_CUDA
#include "kernels/cuda_context.h"
#endif

namespace ff::tools {

struct DeviceTimer::State {
  std::chrono::steady_clock::time_point cpu_start;
#if FF_WITH_CUDA
  cudaEvent_t begin = nullptr, end = nullptr;
#endif
};

DeviceTimer::DeviceTimer(Device device) : device_(device), state_(std::make_unique<State>()) {
  if (!device.is_cuda()) return;
#if FF_WITH_CUDA
  FF_CUDA_CHECK(cudaSetDevice(device.index));
  FF_CUDA_CHECK(cudaEventCreate(&state_->begin));
  FF_CUDA_CHECK(cudaEventCreate(&state_->end));
#else
  throw_no_cuda("DeviceTimer");
#endif
}

DeviceTimer::~DeviceTimer() {
#if FF_WITH_CUDA
  // Not checked: a destructor must not throw, and a failed destroy leaks only an event.
  if (state_->begin) cudaEventDestroy(state_->begin);
  if (state_->end) cudaEventDestroy(state_->end);
#endif
}

void DeviceTimer::start() {
  synchronize(device_);
#if FF_WITH_CUDA
  if (device_.is_cuda()) {
    FF_CUDA_CHECK(cudaEventRecord(state_->begin, cuda::current_stream()));
    return;
  }
#endif
  state_->cpu_start = std::chrono::steady_clock::now();
}

double DeviceTimer::stop_ms() {
#if FF_WITH_CUDA
  if (device_.is_cuda()) {
    FF_CUDA_CHECK(cudaEventRecord(state_->end, cuda::current_stream()));
    FF_CUDA_CHECK(cudaEventSynchronize(state_->end));
    float ms = 0;
    FF_CUDA_CHECK(cudaEventElapsedTime(&ms, state_->begin, state_->end));
    return double(ms);
  }
#endif
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - state_->cpu_start).count();
}

double median(std::vector<double> values) {
  if (values.empty()) throw std::invalid_argument("median of no values");
  size_t middle = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + middle, values.end());
  double upper = values[middle];
  if (values.size() % 2 == 1) return upper;
  double lower = *std::max_element(values.begin(), values.begin() + middle);
  return (lower + upper) / 2;
}

}  // namespace ff::tools
