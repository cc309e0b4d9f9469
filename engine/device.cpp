#include "engine/device.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#if FF_WITH_CUDA
#include "kernels/cuda_context.h"
#endif

namespace ff {

std::string Device::str() const { return is_cuda() ? "cuda:" + std::to_string(index) : "cpu"; }

Device parse_device(const std::string& text) {
  if (text == "cpu") return Device::cpu();
  if (text == "cuda") return Device::cuda(0);
  if (text.rfind("cuda:", 0) == 0) {
    try {
      size_t used = 0;
      int index = std::stoi(text.substr(5), &used);
      if (used == text.size() - 5 && index >= 0) return Device::cuda(index);
    } catch (const std::exception&) {
    }
  }
  throw std::invalid_argument("unknown device \"" + text + "\" (expected cpu, cuda or cuda:N)");
}

namespace {
bool g_poison = false;
}
void set_poison_allocations(bool enabled) { g_poison = enabled; }
bool poison_allocations() { return g_poison; }

void throw_no_cuda(const char* what) {
  throw std::runtime_error(std::string(what) + ": this build has no CUDA backend (rebuild with nvcc available)");
}

#if FF_WITH_CUDA

bool cuda_compiled() { return true; }

int cuda_device_count() {
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky "no driver" error
      return 0;
    }
    return n;
  }();
  return count;
}

std::string cuda_device_name(int index) {
  cudaDeviceProp prop{};
  FF_CUDA_CHECK(cudaGetDeviceProperties(&prop, index));
  return prop.name;
}

void synchronize(Device device) {
  if (device.is_cuda()) FF_CUDA_CHECK(cudaStreamSynchronize(cuda::current_stream()));
}

namespace {
void ensure_pool_keeps_memory(int device) {
  // The default release threshold of 0 hands memory back to the driver at every synchronisation; a
  // training loop allocates the same sizes every step, so keep it in the pool.
  static bool done[64] = {};
  if (device < 64 && done[device]) return;
  cudaMemPool_t pool;
  FF_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, device));
  uint64_t threshold = UINT64_MAX;
  FF_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
  if (device < 64) done[device] = true;
}
}  // namespace

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  if (device.is_cuda()) {
    if (!cuda_available()) throw std::runtime_error("cannot allocate on " + device.str() + ": no CUDA device");
    FF_CUDA_CHECK(cudaSetDevice(device.index));
    ensure_pool_keeps_memory(device.index);
    stream_ = cuda::current_stream();
    if (bytes) FF_CUDA_CHECK(cudaMallocAsync(&data_, bytes, cuda::current_stream()));
    if (bytes && g_poison) FF_CUDA_CHECK(cudaMemsetAsync(data_, 0xFF, bytes, cuda::current_stream()));
  } else if (bytes) {
    data_ = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!data_) throw std::bad_alloc();
    if (g_poison) std::memset(data_, 0xFF, bytes);
  }
}

Storage::~Storage() {
  if (!data_) return;
  if (device_.is_cuda())
    cudaFreeAsync(data_, static_cast<cudaStream_t>(stream_));  // no throw from a destructor
  else
    std::free(data_);
}

PinnedBuffer::PinnedBuffer(size_t bytes) : bytes_(bytes) {
  if (cuda_available() && cudaMallocHost(&data_, bytes) == cudaSuccess) {
    pinned_ = true;
    return;
  }
  cudaGetLastError();
  data_ = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (!data_) throw std::bad_alloc();
}

void PinnedBuffer::release() {
  if (!data_) return;
  if (pinned_)
    cudaFreeHost(data_);
  else
    std::free(data_);
  data_ = nullptr;
}

Stream::Stream() {
  cudaStream_t s;
  FF_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  stream_ = s;
}
Stream::~Stream() { cudaStreamDestroy(static_cast<cudaStream_t>(stream_)); }
void Stream::synchronize() const { FF_CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(stream_))); }

StreamGuard::StreamGuard(const Stream& stream) : previous_(cuda::current_stream()) {
  cuda::set_current_stream(static_cast<cudaStream_t>(stream.handle()));
}
StreamGuard::~StreamGuard() { cuda::set_current_stream(static_cast<cudaStream_t>(previous_)); }

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (bytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, bytes);
    return;
  }
  cudaStream_t stream = cuda::current_stream();
  FF_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream));
  if (dst_device.is_cpu()) FF_CUDA_CHECK(cudaStreamSynchronize(stream));
}

#else  // CPU-only build

bool cuda_compiled() { return false; }
int cuda_device_count() { return 0; }
std::string cuda_device_name(int) { throw_no_cuda("cuda_device_name"); }
void synchronize(Device) {}

Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  if (device.is_cuda()) throw_no_cuda("allocating CUDA memory");
  if (bytes) {
    data_ = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!data_) throw std::bad_alloc();
    if (g_poison) std::memset(data_, 0xFF, bytes);
  }
}
Storage::~Storage() { std::free(data_); }

PinnedBuffer::PinnedBuffer(size_t bytes) : bytes_(bytes) {
  data_ = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (!data_) throw std::bad_alloc();
}
void PinnedBuffer::release() {
  std::free(data_);
  data_ = nullptr;
}

Stream::Stream() { throw_no_cuda("creating a CUDA stream"); }
Stream::~Stream() {}
void Stream::synchronize() const {}
StreamGuard::StreamGuard(const Stream&) {}
StreamGuard::~StreamGuard() {}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes) {
  if (dst_device.is_cuda() || src_device.is_cuda()) throw_no_cuda("copying to or from CUDA memory");
  if (bytes) std::memcpy(dst, src, bytes);
}

#endif

bool cuda_available() { return cuda_device_count() > 0; }

PinnedBuffer::~PinnedBuffer() { release(); }
PinnedBuffer::PinnedBuffer(PinnedBuffer&& other) noexcept
    : data_(other.data_), bytes_(other.bytes_), pinned_(other.pinned_) {
  other.data_ = nullptr;
  other.bytes_ = 0;
}
PinnedBuffer& PinnedBuffer::operator=(PinnedBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = other.data_;
    bytes_ = other.bytes_;
    pinned_ = other.pinned_;
    other.data_ = nullptr;
    other.bytes_ = 0;
  }
  return *this;
}

}  // namespace ff
