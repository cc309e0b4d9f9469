#include <cub/block/block_reduce.cuh>
#include <cub/device/device_reduce.cuh>

#include "kernels/cuda_context.h"
#include "kernels/instantiate.h"
#include "kernels/reduce.h"

namespace ff::cuda {
namespace {

// inner == 1: one block per row, CUB block reduction (deterministic: fixed order within the block).
template <class T, int kThreads>
__global__ void sum_rows_kernel(int64_t rows, int64_t n, const T* x, T* y, T scale) {
  using BlockReduce = cub::BlockReduce<T, kThreads>;
  __shared__ typename BlockReduce::TempStorage temp;
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* p = x + row * n;
    T acc = T(0);
    for (int64_t j = threadIdx.x; j < n; j += kThreads) acc += p[j];
    T total = BlockReduce(temp).Sum(acc);
    if (threadIdx.x == 0) y[row] = total * scale;
    __syncthreads();  // temp is reused by the next row
  }
}

// inner > 1: one thread per output, consecutive threads read consecutive columns (coalesced).
template <class T>
__global__ void sum_columns_kernel(AxisView v, const T* x, T* y, T scale) {
  FF_CUDA_KERNEL_LOOP(index, v.outer * v.inner) {
    int64_t o = index / v.inner, i = index % v.inner;
    const T* p = x + o * v.n * v.inner + i;
    T acc = T(0);
    for (int64_t j = 0; j < v.n; ++j) acc += p[j * v.inner];
    y[index] = acc * scale;
  }
}

template <class T>
__global__ void broadcast_axis_kernel(AxisView v, const T* y, T* x, T scale) {
  FF_CUDA_KERNEL_LOOP(index, v.outer * v.n * v.inner) {
    int64_t i = index % v.inner, o = index / (v.n * v.inner);
    x[index] = scale * y[o * v.inner + i];
  }
}

template <class T>
struct Plus {
  __device__ T operator()(T a, T b) const { return a + b; }
};

template <class T>
struct Square {
  __device__ T operator()(T a) const { return a * a; }
};

}  // namespace

template <class T>
void sum_axis(AxisView v, const T* x, T* y, T scale) {
  if (v.outer * v.inner == 0) return;
  if (v.inner == 1) {
    constexpr int kThreads = 256;
    unsigned blocks = unsigned(v.outer < 65535 ? v.outer : 65535);
    sum_rows_kernel<T, kThreads><<<blocks, kThreads, 0, current_stream()>>>(v.outer, v.n, x, y, scale);
  } else {
    sum_columns_kernel<<<blocks_for(v.outer * v.inner), kBlockSize, 0, current_stream()>>>(v, x, y, scale);
  }
  FF_CUDA_CHECK_LAUNCH();
}

template <class T>
void broadcast_axis(AxisView v, const T* y, T* x, T scale) {
  int64_t n = v.outer * v.n * v.inner;
  if (n == 0) return;
  broadcast_axis_kernel<<<blocks_for(n), kBlockSize, 0, current_stream()>>>(v, y, x, scale);
  FF_CUDA_CHECK_LAUNCH();
}

template <class T>
void sum_squares(const T* x, int64_t n, T* result) {
  size_t temp_bytes = 0;
  FF_CUDA_CHECK(cub::DeviceReduce::TransformReduce(nullptr, temp_bytes, x, result, n, Plus<T>{}, Square<T>{}, T(0),
                                                   current_stream()));
  void* temp = nullptr;
  FF_CUDA_CHECK(cudaMallocAsync(&temp, temp_bytes, current_stream()));
  FF_CUDA_CHECK(cub::DeviceReduce::TransformReduce(temp, temp_bytes, x, result, n, Plus<T>{}, Square<T>{}, T(0),
                                                   current_stream()));
  FF_CUDA_CHECK(cudaFreeAsync(temp, current_stream()));
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_REDUCE)

}  // namespace ff::cuda
