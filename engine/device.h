// Devices, memory and streams. CUDA memory comes from CUDA's stream-ordered pool allocator
// (cudaMallocAsync): freed blocks return to the pool and are reused without a device synchronisation.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

namespace ff {

struct Device {
  enum class Kind : uint8_t { CPU, CUDA };
  Kind kind = Kind::CPU;
  int index = 0;

  static Device cpu() { return {Kind::CPU, 0}; }
  static Device cuda(int index = 0) { return {Kind::CUDA, index}; }
  bool is_cuda() const { return kind == Kind::CUDA; }
  bool is_cpu() const { return kind == Kind::CPU; }
  bool operator==(const Device&) const = default;
  std::string str() const;  // "cpu", "cuda:0"
};

// Parses "cpu", "cuda", "cuda:N" (throws std::invalid_argument naming the text otherwise).
Device parse_device(const std::string& text);

// Whether this build has the CUDA backend, and how many GPUs it sees. Any error from the runtime
// (no driver, insufficient driver, no device) counts as no GPU.
bool cuda_compiled();
int cuda_device_count();
bool cuda_available();
std::string cuda_device_name(int index = 0);

// Waits for all work queued on the device's current stream (no-op on the CPU).
void synchronize(Device device);

// [[noreturn]] helper for code paths that need the CUDA backend in a CPU-only build.
[[noreturn]] void throw_no_cuda(const char* what);

// Test aid: when on, every new allocation is filled with 0xFF bytes (NaN for floating types), so a kernel
// that leaves part of its output unwritten fails its comparison instead of passing on stale zeros.
void set_poison_allocations(bool enabled);
bool poison_allocations();

// A block of device or host memory. CUDA blocks are freed on the stream that was current when they were
// allocated, so a tensor may be dropped while kernels that use it are still queued on that stream.
class Storage {
 public:
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
  void* stream_ = nullptr;  // cudaStream_t of the allocation
};

// Page-locked host memory for fast, asynchronous host-to-device copies; ordinary aligned memory when
// the build or the machine has no CUDA.
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  explicit PinnedBuffer(size_t bytes);
  ~PinnedBuffer();
  PinnedBuffer(PinnedBuffer&& other) noexcept;
  PinnedBuffer& operator=(PinnedBuffer&& other) noexcept;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  bool pinned() const { return pinned_; }

 private:
  void release();
  void* data_ = nullptr;
  size_t bytes_ = 0;
  bool pinned_ = false;
};

// An owned CUDA stream. StreamGuard makes one current for the kernels launched by this thread.
class Stream {
 public:
  Stream();  // a non-blocking stream; throws without CUDA
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  void* handle() const { return stream_; }  // cudaStream_t
  void synchronize() const;

 private:
  void* stream_ = nullptr;
};

class StreamGuard {
 public:
  explicit StreamGuard(const Stream& stream);
  ~StreamGuard();

 private:
  void* previous_ = nullptr;
};

// Copies bytes between any two devices; waits for the copy when the destination is host memory.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t bytes);

}  // namespace ff
