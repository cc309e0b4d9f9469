#include <cub/block/block_reduce.cuh>

#include "kernels/cuda_context.h"
#include "kernels/instantiate.h"
#include "kernels/softmax.h"

namespace ff::cuda {
namespace {

constexpr int kThreads = 128;

template <class T>
struct Max {
  __device__ T operator()(T a, T b) const { return a > b ? a : b; }
};

// One block per row: max, then sum of exponentials, then the output; the row is read three times, which
// keeps it simple for the small rows this engine has (K = 64..256 clusters) where it stays in L1/L2.
// kLog: log_softmax, (x - max) - log(sum), never the logarithm of a probability that may have underflowed.
template <class T, bool kLog>
__global__ void softmax_forward_kernel(int64_t rows, int64_t n, const T* x, T* y) {
  using BlockReduce = cub::BlockReduce<T, kThreads>;
  __shared__ typename BlockReduce::TempStorage temp;
  __shared__ T shared_value;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    T local_max = -INFINITY;
    for (int64_t j = threadIdx.x; j < n; j += kThreads) local_max = xr[j] > local_max ? xr[j] : local_max;
    T row_max = BlockReduce(temp).Reduce(local_max, Max<T>{});
    if (threadIdx.x == 0) shared_value = row_max;
    __syncthreads();
    row_max = shared_value;
    T local_sum = 0;
    for (int64_t j = threadIdx.x; j < n; j += kThreads) local_sum += exp(xr[j] - row_max);
    __syncthreads();
    T total = BlockReduce(temp).Sum(local_sum);
    if (threadIdx.x == 0) shared_value = kLog ? log(total) : T(1) / total;
    __syncthreads();
    const T v = shared_value;  // log(sum), or 1 / sum
    for (int64_t j = threadIdx.x; j < n; j += kThreads) yr[j] = kLog ? (xr[j] - row_max) - v : exp(xr[j] - row_max) * v;
    __syncthreads();
  }
}

template <class T>
__global__ void softmax_backward_kernel(int64_t rows, int64_t n, const T* y, const T* dy, T* dx) {
  using BlockReduce = cub::BlockReduce<T, kThreads>;
  __shared__ typename BlockReduce::TempStorage temp;
  __shared__ T shared_dot;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T *yr = y + r * n, *dyr = dy + r * n;
    T local = 0;
    for (int64_t j = threadIdx.x; j < n; j += kThreads) local += dyr[j] * yr[j];
    T dot = BlockReduce(temp).Sum(local);
    if (threadIdx.x == 0) shared_dot = dot;
    __syncthreads();
    dot = shared_dot;
    for (int64_t j = threadIdx.x; j < n; j += kThreads) dx[r * n + j] = yr[j] * (dyr[j] - dot);
    __syncthreads();
  }
}

template <class T>
__global__ void log_softmax_backward_kernel(int64_t rows, int64_t n, const T* y, const T* dy, T* dx) {
  using BlockReduce = cub::BlockReduce<T, kThreads>;
  __shared__ typename BlockReduce::TempStorage temp;
  __shared__ T shared_total;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T *yr = y + r * n, *dyr = dy + r * n;
    T local = 0;
    for (int64_t j = threadIdx.x; j < n; j += kThreads) local += dyr[j];
    T total = BlockReduce(temp).Sum(local);
    if (threadIdx.x == 0) shared_total = total;
    __syncthreads();
    total = shared_total;
    for (int64_t j = threadIdx.x; j < n; j += kThreads) dx[r * n + j] = dyr[j] - exp(yr[j]) * total;
    __syncthreads();
  }
}

unsigned row_blocks(int64_t rows) { return unsigned(rows < 65535 * 16 ? rows : 65535 * 16); }

}  // namespace

template <class T>
void softmax_forward(int64_t rows, int64_t n, const T* x, T* y) {
  if (rows == 0 || n == 0) return;
  softmax_forward_kernel<T, false><<<row_blocks(rows), kThreads, 0, current_stream()>>>(rows, n, x, y);
  FF_CUDA_CHECK_LAUNCH();
}

template <class T>
void softmax_backward(int64_t rows, int64_t n, const T* y, const T* dy, T* dx) {
  if (rows == 0 || n == 0) return;
  softmax_backward_kernel<<<row_blocks(rows), kThreads, 0, current_stream()>>>(rows, n, y, dy, dx);
  FF_CUDA_CHECK_LAUNCH();
}

template <class T>
void log_softmax_forward(int64_t rows, int64_t n, const T* x, T* y) {
  if (rows == 0 || n == 0) return;
  softmax_forward_kernel<T, true><<<row_blocks(rows), kThreads, 0, current_stream()>>>(rows, n, x, y);
  FF_CUDA_CHECK_LAUNCH();
}

template <class T>
void log_softmax_backward(int64_t rows, int64_t n, const T* y, const T* dy, T* dx) {
  if (rows == 0 || n == 0) return;
  log_softmax_backward_kernel<<<row_blocks(rows), kThreads, 0, current_stream()>>>(rows, n, y, dy, dx);
  FF_CUDA_CHECK_LAUNCH();
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_SOFTMAX)

}  // namespace ff::cuda
