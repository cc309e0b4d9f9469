#include "kernels/cuda_context.h"
#include "kernels/fill.h"
#include "kernels/instantiate.h"
#include "kernels/philox.h"

namespace ff::cuda {
namespace {

template <class T>
__global__ void fill_kernel(T* y, int64_t n, T value) {
  FF_CUDA_KERNEL_LOOP(i, n)
    y[i] = value;
}

template <class T>
__global__ void fill_uniform_kernel(T* y, int64_t n, uint64_t seed, uint64_t offset, double lo, double hi) {
  FF_CUDA_KERNEL_LOOP(i, n)
    y[i] = convert_value<T>(lo + (hi - lo) * double(philox::uniform(seed, offset + uint64_t(i))));
}

template <class T>
__global__ void fill_normal_kernel(T* y, int64_t n, uint64_t seed, uint64_t offset, double mean, double std) {
  FF_CUDA_KERNEL_LOOP(i, n)
    y[i] = convert_value<T>(mean + std * philox::normal(seed, offset + uint64_t(i)));
}

template <class From, class To>
__global__ void cast_kernel(const From* x, To* y, int64_t n) {
  FF_CUDA_KERNEL_LOOP(i, n)
    y[i] = convert_value<To>(x[i]);
}

}  // namespace

template <class T>
void fill(T* y, int64_t n, T value) {
  if (n == 0) return;
  fill_kernel<<<blocks_for(n), kBlockSize, 0, current_stream()>>>(y, n, value);
  FF_CUDA_CHECK_LAUNCH();
}

template <class T>
void fill_uniform(T* y, int64_t n, uint64_t seed, uint64_t offset, double lo, double hi) {
  if (n == 0) return;
  fill_uniform_kernel<<<blocks_for(n), kBlockSize, 0, current_stream()>>>(y, n, seed, offset, lo, hi);
  FF_CUDA_CHECK_LAUNCH();
}

template <class T>
void fill_normal(T* y, int64_t n, uint64_t seed, uint64_t offset, double mean, double std) {
  if (n == 0) return;
  fill_normal_kernel<<<blocks_for(n), kBlockSize, 0, current_stream()>>>(y, n, seed, offset, mean, std);
  FF_CUDA_CHECK_LAUNCH();
}

template <class From, class To>
void cast(const From* x, To* y, int64_t n) {
  if (n == 0) return;
  cast_kernel<<<blocks_for(n), kBlockSize, 0, current_stream()>>>(x, y, n);
  FF_CUDA_CHECK_LAUNCH();
}

FF_FOR_ALL_TYPES(FF_INSTANTIATE_FILL)
FF_FOR_ALL_TYPE_PAIRS(FF_INSTANTIATE_CAST)

}  // namespace ff::cuda
