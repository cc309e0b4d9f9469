// See kernels/batch_norm_cudnn.h. Compiled only into CUDA builds (CMakeLists.txt); never linked with
// libcudnn: every cuDNN function is a pointer found with dlsym in the library dlopen returned.
#include "kernels/batch_norm_cudnn.h"

#include <dlfcn.h>

#include <climits>
#include <stdexcept>
#include <string>

#include "kernels/cuda_context.h"

#if FF_HAVE_CUDNN_HEADERS
#include <cudnn.h>
#endif

namespace ff::cuda {
namespace {

// The soname, not "libcudnn.so": that unversioned link exists only where the development package is
// installed, and a cuDNN of another major version would not match the cudnn.h this was compiled against.
constexpr const char* kCudnnLibrary = "libcudnn.so.9";
constexpr size_t kCudnnMajor = 9;

struct CudnnLibrary {
  std::string unavailable;  // empty when loaded
  std::string version;
#if FF_HAVE_CUDNN_HEADERS
  // decltype of the declarations in cudnn.h: the compiler checks every call's arguments, and taking the
  // type of a function does not reference its symbol, so nothing links against libcudnn.
  decltype(&cudnnGetVersion) get_version = nullptr;
  decltype(&cudnnGetCudartVersion) get_cudart_version = nullptr;
  decltype(&cudnnGetErrorString) get_error_string = nullptr;
  decltype(&cudnnCreate) create = nullptr;
  decltype(&cudnnDestroy) destroy = nullptr;
  decltype(&cudnnSetStream) set_stream = nullptr;
  decltype(&cudnnCreateTensorDescriptor) create_tensor_descriptor = nullptr;
  decltype(&cudnnDestroyTensorDescriptor) destroy_tensor_descriptor = nullptr;
  decltype(&cudnnSetTensor4dDescriptor) set_tensor_4d_descriptor = nullptr;
  decltype(&cudnnBatchNormalizationForwardTraining) forward_training = nullptr;
  decltype(&cudnnBatchNormalizationBackward) backward = nullptr;
#endif
};

#if FF_HAVE_CUDNN_HEADERS
template <class F>
bool resolve(void* library, const char* name, F& function, std::string& unavailable) {
  dlerror();  // clear: dlsym's null return alone does not tell an error
  function = reinterpret_cast<F>(dlsym(library, name));
  if (function) return true;
  const char* error = dlerror();
  unavailable = std::string(kCudnnLibrary) + " has no " + name + (error ? std::string(": ") + error : std::string());
  return false;
}

CudnnLibrary load() {
  CudnnLibrary l;
  dlerror();
  // RTLD_LOCAL: cuDNN's symbols stay out of the global namespace; the library is never closed, since the
  // handles and pointers taken from it live until the process ends.
  void* library = dlopen(kCudnnLibrary, RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char* error = dlerror();
    l.unavailable = std::string("cannot load ") + kCudnnLibrary + ": " + (error ? error : "unknown dlopen error") +
                    " (cuDNN 9 is not installed, or its folder is not on LD_LIBRARY_PATH)";
    return l;
  }
  bool ok = resolve(library, "cudnnGetVersion", l.get_version, l.unavailable) &&
            resolve(library, "cudnnGetCudartVersion", l.get_cudart_version, l.unavailable) &&
            resolve(library, "cudnnGetErrorString", l.get_error_string, l.unavailable) &&
            resolve(library, "cudnnCreate", l.create, l.unavailable) &&
            resolve(library, "cudnnDestroy", l.destroy, l.unavailable) &&
            resolve(library, "cudnnSetStream", l.set_stream, l.unavailable) &&
            resolve(library, "cudnnCreateTensorDescriptor", l.create_tensor_descriptor, l.unavailable) &&
            resolve(library, "cudnnDestroyTensorDescriptor", l.destroy_tensor_descriptor, l.unavailable) &&
            resolve(library, "cudnnSetTensor4dDescriptor", l.set_tensor_4d_descriptor, l.unavailable) &&
            resolve(library, "cudnnBatchNormalizationForwardTraining", l.forward_training, l.unavailable) &&
            resolve(library, "cudnnBatchNormalizationBackward", l.backward, l.unavailable);
  if (!ok) return l;
  // cudnnGetVersion is major * 10000 + minor * 100 + patch from cuDNN 9 on; the enums and signatures used
  // here are those of cudnn.h 9.x, so another major version is refused rather than called.
  const size_t v = l.get_version();
  const size_t major = v / 10000, minor = v % 10000 / 100, patch = v % 100;
  const size_t cudart = l.get_cudart_version();  // major * 1000 + minor * 10
  if (major != kCudnnMajor) {
    l.unavailable = std::string(kCudnnLibrary) + " reports cuDNN version " + std::to_string(v) + ", expected 9.x";
    return l;
  }
  l.version = "cuDNN " + std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch) +
              " (built for CUDA " + std::to_string(cudart / 1000) + "." + std::to_string(cudart % 1000 / 10) + ")";
  return l;
}
#else
CudnnLibrary load() {
  CudnnLibrary l;
  l.unavailable = "cuDNN batch norm: built without cuDNN headers (cudnn.h was not found at configure time)";
  return l;
}
#endif

const CudnnLibrary& library() {
  static const CudnnLibrary loaded = load();  // C++ guarantees one initialisation across threads
  return loaded;
}

// The library, or std::runtime_error naming why there is none.
const CudnnLibrary& loaded_library() {
  const CudnnLibrary& l = library();
  if (!l.unavailable.empty()) throw std::runtime_error(l.unavailable);
  return l;
}

void check_extent(int64_t rows, int64_t channels) {
  // cuDNN's tensor descriptors hold int dimensions and its kernels index with int.
  if (rows < 1 || channels < 1 || rows > INT_MAX || channels > INT_MAX || rows * channels > INT_MAX)
    throw std::invalid_argument("cuDNN batch norm: [" + std::to_string(rows) + ", " + std::to_string(channels) +
                                "] is empty or has more than INT_MAX elements");
}

}  // namespace

bool CudnnBatchNorm::available() { return library().unavailable.empty(); }
const std::string& CudnnBatchNorm::unavailable_reason() { return library().unavailable; }
const std::string& CudnnBatchNorm::version() { return library().version; }

#if FF_HAVE_CUDNN_HEADERS

#define FF_CUDNN_CHECK(lib, expression)                                                                    \
  do {                                                                                                     \
    cudnnStatus_t ff_status_ = (expression);                                                               \
    if (ff_status_ != CUDNN_STATUS_SUCCESS)                                                                \
      throw std::runtime_error(std::string("cuDNN error ") + (lib).get_error_string(ff_status_) + " in " + \
                               #expression + " at " + __FILE__ + ":" + std::to_string(__LINE__));          \
  } while (0)

CudnnBatchNorm::CudnnBatchNorm() {
  const CudnnLibrary& l = loaded_library();
  cudnnHandle_t handle = nullptr;
  FF_CUDNN_CHECK(l, l.create(&handle));
  handle_ = handle;
  cudnnTensorDescriptor_t data = nullptr, param = nullptr;
  try {
    FF_CUDNN_CHECK(l, l.create_tensor_descriptor(&data));
    data_descriptor_ = data;
    FF_CUDNN_CHECK(l, l.create_tensor_descriptor(&param));
    param_descriptor_ = param;
  } catch (...) {
    release();  // a constructor that throws gets no destructor call
    throw;
  }
}

CudnnBatchNorm::~CudnnBatchNorm() { release(); }

void CudnnBatchNorm::release() noexcept {
  // Only reached after the constructor's loaded_library() succeeded. Errors are ignored: this runs in the
  // destructor, which must not throw, and at process exit the CUDA context may already be gone.
  const CudnnLibrary& l = library();
  if (param_descriptor_) l.destroy_tensor_descriptor(static_cast<cudnnTensorDescriptor_t>(param_descriptor_));
  if (data_descriptor_) l.destroy_tensor_descriptor(static_cast<cudnnTensorDescriptor_t>(data_descriptor_));
  if (handle_) l.destroy(static_cast<cudnnHandle_t>(handle_));
  param_descriptor_ = data_descriptor_ = handle_ = nullptr;
}

void CudnnBatchNorm::describe(int64_t rows, int64_t channels) {
  check_extent(rows, channels);
  const CudnnLibrary& l = library();
  // [rows, channels] row-major is NCHW [rows, channels, 1, 1]; per activation, the statistics run over N
  // for each (c, h, w), that is over the rows for each channel.
  FF_CUDNN_CHECK(l, l.set_tensor_4d_descriptor(static_cast<cudnnTensorDescriptor_t>(data_descriptor_),
                                               CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(rows), int(channels), 1, 1));
  FF_CUDNN_CHECK(l, l.set_tensor_4d_descriptor(static_cast<cudnnTensorDescriptor_t>(param_descriptor_),
                                               CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, int(channels), 1, 1));
  // Bound to the stream every other kernel of this thread runs on, so cuDNN's work is ordered with ours.
  FF_CUDNN_CHECK(l, l.set_stream(static_cast<cudnnHandle_t>(handle_), current_stream()));
}

void CudnnBatchNorm::forward_training(const float* x, const float* gamma, const float* beta, int64_t rows,
                                      int64_t channels, double epsilon, double momentum, float* running_mean,
                                      float* running_var, float* y, float* mean, float* rstd) {
  if (!gamma || !beta) throw std::invalid_argument("cuDNN batch norm: gamma and beta are required");
  describe(rows, channels);
  const CudnnLibrary& l = library();
  // y = 1 * BN(x) + 0 * y: overwrite. cuDNN takes the blend factors as float for float data.
  const float one = 1.0f, zero = 0.0f;
  auto data = static_cast<cudnnTensorDescriptor_t>(data_descriptor_);
  FF_CUDNN_CHECK(l, l.forward_training(static_cast<cudnnHandle_t>(handle_), CUDNN_BATCHNORM_PER_ACTIVATION, &one,
                                       &zero, data, x, data, y,
                                       static_cast<cudnnTensorDescriptor_t>(param_descriptor_), gamma, beta,
                                       1.0 - momentum,  // cuDNN's factor weighs the new value; our momentum the old
                                       running_mean, running_var, epsilon, mean, rstd));
}

void CudnnBatchNorm::backward(const float* dy, const float* x, const float* gamma, const float* mean,
                              const float* rstd, int64_t rows, int64_t channels, double epsilon, float* dx,
                              float* dgamma, float* dbeta) {
  if (!gamma) throw std::invalid_argument("cuDNN batch norm: gamma is required");
  describe(rows, channels);
  const CudnnLibrary& l = library();
  // alpha 1, beta 0 for both dx and the parameter gradients: overwrite, as our kernels do; the engine adds
  // gradients up itself.
  const float one = 1.0f, zero = 0.0f;
  auto data = static_cast<cudnnTensorDescriptor_t>(data_descriptor_);
  FF_CUDNN_CHECK(l, l.backward(static_cast<cudnnHandle_t>(handle_), CUDNN_BATCHNORM_PER_ACTIVATION, &one, &zero,
                               &one, &zero, data, x, data, dy, data, dx,
                               static_cast<cudnnTensorDescriptor_t>(param_descriptor_), gamma, dgamma, dbeta, epsilon,
                               mean, rstd));
}

#else  // no cudnn.h: available() is false, so the constructor always throws and nothing else can be reached

CudnnBatchNorm::CudnnBatchNorm() { loaded_library(); }
CudnnBatchNorm::~CudnnBatchNorm() = default;
void CudnnBatchNorm::release() noexcept {}

void CudnnBatchNorm::describe(int64_t, int64_t) { loaded_library(); }

void CudnnBatchNorm::forward_training(const float*, const float*, const float*, int64_t, int64_t, double, double,
                                      float*, float*, float*, float*, float*) {
  loaded_library();
}

void CudnnBatchNorm::backward(const float*, const float*, const float*, const float*, const float*, int64_t, int64_t,
                              double, float*, float*, float*) {
  loaded_library();
}

#endif

}  // namespace ff::cuda
