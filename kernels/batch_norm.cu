#include <cmath>

#include "kernels/batch_norm.h"
#include "kernels/cuda_context.h"
#include "kernels/instantiate.h"

namespace ff::cuda {
namespace {

// Column sums of a row-major [rows, channels] matrix. A block covers kTileChannels consecutive channels
// (threadIdx.x, so each warp reads one contiguous run of a row) and one split of the rows, which its
// kTileRows warps walk with stride kTileRows. The warps' accumulators meet in shared memory and are added in
// a fixed order; the splits' partial sums are added in a fixed order by a second kernel. No atomics: the
// result is the same on every run.
constexpr int kTileChannels = 32;
constexpr int kTileRows = 8;
constexpr int kTargetBlocks = 512;  // enough blocks to fill an H100 several times over
constexpr int64_t kMinRowsPerThread = 16;

struct ReductionGrid {
  int64_t channel_tiles = 1;
  int64_t splits = 1;
  int64_t rows_per_split = 1;
};

ReductionGrid reduction_grid(int64_t rows, int64_t channels) {
  ReductionGrid g;
  g.channel_tiles = (channels + kTileChannels - 1) / kTileChannels;
  int64_t wanted = (kTargetBlocks + g.channel_tiles - 1) / g.channel_tiles;
  int64_t most = (rows + kTileRows * kMinRowsPerThread - 1) / (kTileRows * kMinRowsPerThread);
  g.splits = wanted < most ? wanted : most;
  if (g.splits < 1) g.splits = 1;
  g.rows_per_split = (rows + g.splits - 1) / g.splits;
  if (g.rows_per_split < 1) g.rows_per_split = 1;
  return g;
}

// partial[(split * 2 + k) * channels + c] = sum over the split's rows of term k at (row, c).
template <class T, class Terms>
__global__ void column_partial_sums_kernel(Terms terms, int64_t rows, int64_t channels, int64_t rows_per_split,
                                           T* partial) {
  __shared__ T shared[2][kTileRows][kTileChannels];
  int64_t c = int64_t(blockIdx.x) * kTileChannels + threadIdx.x;
  int64_t begin = int64_t(blockIdx.y) * rows_per_split;
  int64_t end = begin + rows_per_split < rows ? begin + rows_per_split : rows;
  T a = T(0), b = T(0);
  if (c < channels)
    for (int64_t r = begin + threadIdx.y; r < end; r += kTileRows) terms(r, c, a, b);
  shared[0][threadIdx.y][threadIdx.x] = a;
  shared[1][threadIdx.y][threadIdx.x] = b;
  __syncthreads();
  if (threadIdx.y < 2 && c < channels) {  // warp 0 adds term 0, warp 1 term 1
    T s = T(0);
    for (int k = 0; k < kTileRows; ++k) s += shared[threadIdx.y][k][threadIdx.x];
    partial[(int64_t(blockIdx.y) * 2 + threadIdx.y) * channels + c] = s;
  }
}

template <class T>
__device__ T sum_over_splits(const T* partial, int64_t splits, int64_t channels, int k, int64_t c) {
  T s = T(0);
  for (int64_t i = 0; i < splits; ++i) s += partial[(i * 2 + k) * channels + c];
  return s;
}

// Pass 1 of the statistics: x and 1 over the counted rows. Masked rows are skipped by selection, not
// multiplied by 0, so whatever they hold (padding, even NaN) cannot reach the statistics.
template <class T>
struct SumAndCount {
  const T* x;
  const T* row_mask;
  int64_t stride;
  __device__ void operator()(int64_t r, int64_t c, T& a, T& b) const {
    if (row_mask && row_mask[r] == T(0)) return;
    a += x[r * stride + c];
    b += T(1);
  }
};

// Pass 2: squared deviations from the mean over the counted rows.
template <class T>
struct SquaredDeviation {
  const T* x;
  const T* row_mask;
  const T* mean;
  int64_t stride;
  __device__ void operator()(int64_t r, int64_t c, T& a, T&) const {
    if (row_mask && row_mask[r] == T(0)) return;
    T d = x[r * stride + c] - mean[c];
    a += d * d;
  }
};

// Backward: dy and dy * xhat over every row.
template <class T>
struct GradientTerms {
  const T* dy;
  const T* x;
  const T* mean;
  const T* rstd;
  int64_t stride;
  __device__ void operator()(int64_t r, int64_t c, T& a, T& b) const {
    int64_t i = r * stride + c;
    a += dy[i];
    b += dy[i] * ((x[i] - mean[c]) * rstd[c]);
  }
};

template <class T>
__global__ void finish_mean_kernel(const T* partial, int64_t splits, int64_t channels, T* mean, T* count) {
  FF_CUDA_KERNEL_LOOP(c, channels) {
    T sum = sum_over_splits(partial, splits, channels, 0, c);
    T n = sum_over_splits(partial, splits, channels, 1, c);  // exact: a sum of small integers
    mean[c] = n > T(0) ? sum / n : T(0);
    if (c == 0) count[0] = n;
  }
}

template <class T>
__global__ void finish_variance_kernel(const T* partial, int64_t splits, int64_t channels, T epsilon, const T* count,
                                       T* variance, T* rstd) {
  FF_CUDA_KERNEL_LOOP(c, channels) {
    T n = count[0];
    T v = n > T(0) ? sum_over_splits(partial, splits, channels, 0, c) / n : T(0);
    variance[c] = v;
    rstd[c] = T(1) / sqrt(v + epsilon);
  }
}

template <class T>
__global__ void finish_gradient_sums_kernel(const T* partial, int64_t splits, int64_t channels, T* sum_dy,
                                            T* sum_dy_xhat) {
  FF_CUDA_KERNEL_LOOP(c, channels) {
    sum_dy[c] = sum_over_splits(partial, splits, channels, 0, c);
    sum_dy_xhat[c] = sum_over_splits(partial, splits, channels, 1, c);
  }
}

template <class T>
__global__ void inverse_std_kernel(const T* variance, int64_t channels, T epsilon, T* rstd) {
  FF_CUDA_KERNEL_LOOP(c, channels) rstd[c] = T(1) / sqrt(variance[c] + epsilon);
}

template <class T>
__global__ void update_running_kernel(const T* mean, const T* variance, int64_t channels, T momentum,
                                      T* running_mean, T* running_var) {
  FF_CUDA_KERNEL_LOOP(c, channels) {
    running_mean[c] = momentum * running_mean[c] + (T(1) - momentum) * mean[c];
    running_var[c] = momentum * running_var[c] + (T(1) - momentum) * variance[c];
  }
}

template <class T>
__global__ void forward_kernel(const T* x, const T* mean, const T* rstd, const T* gamma, const T* beta, int64_t rows,
                               int64_t channels, T* y) {
  FF_CUDA_KERNEL_LOOP(i, rows * channels) {
    int64_t c = i % channels;
    y[i] = batch_norm_value(x[i], mean[c], rstd[c], gamma, beta, c);
  }
}

template <class T>
__global__ void backward_input_kernel(const T* dy, const T* x, const T* mean, const T* rstd, const T* gamma,
                                      const T* row_mask, const T* count, const T* sum_dy, const T* sum_dy_xhat,
                                      int64_t rows, int64_t channels, T* dx) {
  FF_CUDA_KERNEL_LOOP(i, rows * channels) {
    int64_t r = i / channels, c = i % channels;
    dx[i] = batch_norm_input_gradient(dy[i], x[i], mean[c], rstd[c], gamma, row_mask, count,
                                      sum_dy ? sum_dy[c] : T(0), sum_dy_xhat ? sum_dy_xhat[c] : T(0), r, c);
  }
}

// Runs column_partial_sums_kernel into a stream-ordered scratch buffer and hands it to `finish`.
template <class T, class Terms, class Finish>
void column_sums(Terms terms, int64_t rows, int64_t channels, Finish finish) {
  ReductionGrid g = reduction_grid(rows, channels);
  cudaStream_t stream = current_stream();
  T* partial = nullptr;
  FF_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&partial), size_t(g.splits * 2 * channels) * sizeof(T),
                                stream));
  dim3 grid(unsigned(g.channel_tiles), unsigned(g.splits)), block(kTileChannels, kTileRows);
  column_partial_sums_kernel<T><<<grid, block, 0, stream>>>(terms, rows, channels, g.rows_per_split, partial);
  FF_CUDA_CHECK_LAUNCH();
  finish(partial, g.splits);
  FF_CUDA_CHECK_LAUNCH();
  FF_CUDA_CHECK(cudaFreeAsync(partial, stream));
}

}  // namespace

template <class T>
void batch_norm_statistics(const T* x, const T* row_mask, int64_t rows, int64_t channels, T epsilon, T* mean,
                           T* variance, T* rstd, T* count) {
  if (channels == 0) return;
  cudaStream_t stream = current_stream();
  unsigned blocks = blocks_for(channels);
  column_sums<T>(SumAndCount<T>{x, row_mask, channels}, rows, channels, [&](const T* partial, int64_t splits) {
    finish_mean_kernel<<<blocks, kBlockSize, 0, stream>>>(partial, splits, channels, mean, count);
  });
  column_sums<T>(SquaredDeviation<T>{x, row_mask, mean, channels}, rows, channels,
                 [&](const T* partial, int64_t splits) {
                   finish_variance_kernel<<<blocks, kBlockSize, 0, stream>>>(partial, splits, channels, epsilon,
                                                                             count, variance, rstd);
                 });
}

template <class T>
void batch_norm_inverse_std(const T* variance, int64_t channels, T epsilon, T* rstd) {
  if (channels == 0) return;
  inverse_std_kernel<<<blocks_for(channels), kBlockSize, 0, current_stream()>>>(variance, channels, epsilon, rstd);
  FF_CUDA_CHECK_LAUNCH();
}

template <class T>
void batch_norm_update_running(const T* mean, const T* variance, int64_t channels, T momentum, T* running_mean,
                               T* running_var) {
  if (channels == 0) return;
  update_running_kernel<<<blocks_for(channels), kBlockSize, 0, current_stream()>>>(mean, variance, channels, momentum,
                                                                                    running_mean, running_var);
  FF_CUDA_CHECK_LAUNCH();
}

template <class T>
void batch_norm_forward(const T* x, const T* mean, const T* rstd, const T* gamma, const T* beta, int64_t rows,
                        int64_t channels, T* y) {
  int64_t n = rows * channels;
  if (n == 0) return;
  forward_kernel<<<blocks_for(n), kBlockSize, 0, current_stream()>>>(x, mean, rstd, gamma, beta, rows, channels, y);
  FF_CUDA_CHECK_LAUNCH();
}

template <class T>
void batch_norm_backward_sums(const T* dy, const T* x, const T* mean, const T* rstd, int64_t rows, int64_t channels,
                              T* sum_dy, T* sum_dy_xhat) {
  if (channels == 0) return;
  cudaStream_t stream = current_stream();
  column_sums<T>(GradientTerms<T>{dy, x, mean, rstd, channels}, rows, channels,
                 [&](const T* partial, int64_t splits) {
                   finish_gradient_sums_kernel<<<blocks_for(channels), kBlockSize, 0, stream>>>(
                       partial, splits, channels, sum_dy, sum_dy_xhat);
                 });
}

template <class T>
void batch_norm_backward_input(const T* dy, const T* x, const T* mean, const T* rstd, const T* gamma,
                               const T* row_mask, const T* count, const T* sum_dy, const T* sum_dy_xhat, int64_t rows,
                               int64_t channels, T* dx) {
  int64_t n = rows * channels;
  if (n == 0) return;
  backward_input_kernel<<<blocks_for(n), kBlockSize, 0, current_stream()>>>(
      dy, x, mean, rstd, gamma, row_mask, count, sum_dy, sum_dy_xhat, rows, channels, dx);
  FF_CUDA_CHECK_LAUNCH();
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_BATCH_NORM)

}  // namespace ff::cuda
