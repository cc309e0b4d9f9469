#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/cuda_context.h"
#include "kernels/instantiate.h"
#include "kernels/nextvlad_assignment.h"

namespace ff::cuda {
namespace {

// One warp per (row, group) segment of K clusters: lane j handles clusters j, j + 32, ..., so each pass over
// a segment reads K contiguous values, coalesced. A segment is read a few times (max, sum of exponentials,
// output); after the first read it sits in L1, so DRAM sees z once per kernel. No shared memory and no
// block-wide barrier: K = 64..256 in the models is 2..8 values per lane.
constexpr int kWarp = 32;
constexpr int kWarpsPerBlock = 8;
constexpr int kThreads = kWarp * kWarpsPerBlock;
constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kTargetSumBlocks = 1024;  // blocks of the sums pass: several per SM on an H100
constexpr int64_t kMinRowsPerWarp = 4;
constexpr size_t kSharedBudget = 48 * 1024;  // the default dynamic shared memory limit

template <class T>
__device__ T warp_sum(T v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}

template <class T>
__device__ T warp_max(T v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    T other = __shfl_xor_sync(kFullMask, v, offset);
    v = other > v ? other : v;
  }
  return v;
}

// The softmax statistics of a segment: its maximum and 1 / sum of exp(y - max), the same on every lane.
template <class T>
struct SegmentSoftmax {
  T max_value;
  T inverse_sum;
  __device__ T probability(T y) const { return exp(y - max_value) * inverse_sum; }
};

template <class T>
__device__ SegmentSoftmax<T> segment_softmax(const NeXtVladAssignmentInputs<T>& in, int64_t r, int64_t g, int lane) {
  const int64_t base = g * in.clusters;
  T m = -INFINITY;
  for (int64_t k = lane; k < in.clusters; k += kWarp) {
    T y = nextvlad_assignment_logit(in, r, base + k);
    m = y > m ? y : m;
  }
  m = warp_max(m);
  T total = T(0);
  for (int64_t k = lane; k < in.clusters; k += kWarp) total += exp(nextvlad_assignment_logit(in, r, base + k) - m);
  return {m, T(1) / warp_sum(total)};
}

// dot[r, g] = sum_k dout * p, the same on every lane.
template <class T>
__device__ T segment_dot(const NeXtVladAssignmentInputs<T>& in, const SegmentSoftmax<T>& softmax, const T* dout,
                         int64_t r, int64_t g, int lane) {
  const int64_t base = g * in.clusters;
  T dot = T(0);
  for (int64_t k = lane; k < in.clusters; k += kWarp)
    dot += dout[r * in.channels() + base + k] * softmax.probability(nextvlad_assignment_logit(in, r, base + k));
  return warp_sum(dot);
}

__device__ int64_t global_warp() { return (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp; }
__device__ int64_t warp_count() { return int64_t(gridDim.x) * blockDim.x / kWarp; }

template <class T>
__global__ void forward_kernel(NeXtVladAssignmentInputs<T> in, T* out) {
  const int lane = int(threadIdx.x % kWarp);
  const int64_t segments = in.rows * in.groups;
  for (int64_t s = global_warp(); s < segments; s += warp_count()) {
    const int64_t r = s / in.groups, g = s % in.groups, base = g * in.clusters;
    SegmentSoftmax<T> softmax = segment_softmax(in, r, g, lane);
    T attention = nextvlad_group_attention(in, r, g) * in.frame_mask[r];
    for (int64_t k = lane; k < in.clusters; k += kWarp)
      out[r * in.channels() + base + k] = softmax.probability(nextvlad_assignment_logit(in, r, base + k)) * attention;
  }
}

// Block (split, g): its warps take the split's rows in turn for group g, each adding dy and dy * xhat into
// its own row of shared accumulators [warp][term][k] (a lane owns clusters lane, lane + 32, ...: no two
// threads write one slot). The warps' rows are then added in a fixed order into
// partial[(split * 2 + term) * channels + c], and a second kernel adds the splits in a fixed order: the
// sums are the same on every run.
template <class T>
__global__ void sums_partial_kernel(NeXtVladAssignmentInputs<T> in, const T* dout, int64_t rows_per_split,
                                    int warps, T* partial) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  T* accumulators = reinterpret_cast<T*>(shared_bytes);
  const int lane = int(threadIdx.x % kWarp), warp = int(threadIdx.x / kWarp);
  const int64_t k_count = in.clusters, g = blockIdx.y, base = g * k_count;
  T* mine = accumulators + int64_t(warp) * 2 * k_count;
  if (warp < warps)  // each lane zeroes the two slots it adds into, so no lane reads another's store
    for (int64_t k = lane; k < k_count; k += kWarp) mine[k] = mine[k_count + k] = T(0);
  const int64_t begin = int64_t(blockIdx.x) * rows_per_split;
  const int64_t end = begin + rows_per_split < in.rows ? begin + rows_per_split : in.rows;
  if (warp < warps)
    for (int64_t r = begin + warp; r < end; r += warps) {
      SegmentSoftmax<T> softmax = segment_softmax(in, r, g, lane);
      T dot = segment_dot(in, softmax, dout, r, g, lane);
      T attention = nextvlad_group_attention(in, r, g) * in.frame_mask[r];
      for (int64_t k = lane; k < k_count; k += kWarp) {
        const int64_t c = base + k, i = r * in.channels() + c;
        T z = in.logits[i];
        T dy = attention * softmax.probability(batch_norm_value(z, in.mean[c], in.rstd[c], in.gamma, in.beta, c)) *
               (dout[i] - dot);
        mine[k] += dy;
        mine[k_count + k] += dy * ((z - in.mean[c]) * in.rstd[c]);
      }
    }
  __syncthreads();
  for (int64_t j = threadIdx.x; j < 2 * k_count; j += blockDim.x) {
    T s = T(0);
    for (int w = 0; w < warps; ++w) s += accumulators[int64_t(w) * 2 * k_count + j];
    const int64_t term = j / k_count, k = j % k_count;
    partial[(int64_t(blockIdx.x) * 2 + term) * in.channels() + base + k] = s;
  }
}

template <class T>
__global__ void sums_finish_kernel(const T* partial, int64_t splits, int64_t channels, T* sum_dy, T* sum_dy_xhat) {
  FF_CUDA_KERNEL_LOOP(c, channels) {
    T a = T(0), b = T(0);
    for (int64_t i = 0; i < splits; ++i) {
      a += partial[(i * 2) * channels + c];
      b += partial[(i * 2 + 1) * channels + c];
    }
    sum_dy[c] = a;
    sum_dy_xhat[c] = b;
  }
}

template <class T>
__global__ void backward_kernel(NeXtVladAssignmentInputs<T> in, const T* dout, const T* statistics_mask,
                                const T* count, const T* sum_dy, const T* sum_dy_xhat, T* dlogits,
                                T* dattention_logits) {
  const int lane = int(threadIdx.x % kWarp);
  const int64_t segments = in.rows * in.groups;
  for (int64_t s = global_warp(); s < segments; s += warp_count()) {
    const int64_t r = s / in.groups, g = s % in.groups, base = g * in.clusters;
    SegmentSoftmax<T> softmax = segment_softmax(in, r, g, lane);
    T dot = segment_dot(in, softmax, dout, r, g, lane);
    T sigmoid = nextvlad_group_attention(in, r, g), mask = in.frame_mask[r];
    if (dattention_logits && lane == 0) dattention_logits[r * in.groups + g] = dot * mask * sigmoid * (T(1) - sigmoid);
    if (!dlogits) continue;
    T attention = sigmoid * mask;
    for (int64_t k = lane; k < in.clusters; k += kWarp) {
      const int64_t c = base + k, i = r * in.channels() + c;
      T z = in.logits[i];
      T dy = attention * softmax.probability(batch_norm_value(z, in.mean[c], in.rstd[c], in.gamma, in.beta, c)) *
             (dout[i] - dot);
      dlogits[i] = batch_norm_input_gradient(dy, z, in.mean[c], in.rstd[c], in.gamma, statistics_mask, count,
                                             sum_dy ? sum_dy[c] : T(0), sum_dy_xhat ? sum_dy_xhat[c] : T(0), r, c);
    }
  }
}

unsigned segment_blocks(int64_t segments) { return blocks_for(segments * kWarp, kThreads); }

}  // namespace

template <class T>
void nextvlad_assignment_forward(const NeXtVladAssignmentInputs<T>& in, T* out) {
  if (in.rows == 0 || in.channels() == 0) return;
  forward_kernel<<<segment_blocks(in.rows * in.groups), kThreads, 0, current_stream()>>>(in, out);
  FF_CUDA_CHECK_LAUNCH();
}

template <class T>
void nextvlad_assignment_backward_sums(const NeXtVladAssignmentInputs<T>& in, const T* dout, T* sum_dy,
                                       T* sum_dy_xhat) {
  const int64_t channels = in.channels();
  if (channels == 0) return;
  cudaStream_t stream = current_stream();
  // As many warps as the shared accumulators allow, up to a full block.
  const size_t per_warp = size_t(2 * in.clusters) * sizeof(T);
  int warps = int(kSharedBudget / per_warp);
  if (warps > kWarpsPerBlock) warps = kWarpsPerBlock;
  if (warps < 1)
    throw std::invalid_argument("nextvlad_assignment_backward_sums: " + std::to_string(in.clusters) +
                                " clusters do not fit the shared-memory accumulators");
  // Splits of the rows: enough blocks to fill the device, at least a few rows per warp.
  int64_t wanted = (kTargetSumBlocks + in.groups - 1) / in.groups;
  int64_t most = (in.rows + warps * kMinRowsPerWarp - 1) / (warps * kMinRowsPerWarp);
  int64_t splits = wanted < most ? wanted : most;
  if (splits < 1) splits = 1;
  int64_t rows_per_split = (in.rows + splits - 1) / splits;
  if (rows_per_split < 1) rows_per_split = 1;
  T* partial = nullptr;
  FF_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&partial), size_t(splits * 2 * channels) * sizeof(T), stream));
  dim3 grid(unsigned(splits), unsigned(in.groups));
  sums_partial_kernel<<<grid, kThreads, per_warp * size_t(warps), stream>>>(in, dout, rows_per_split, warps, partial);
  FF_CUDA_CHECK_LAUNCH();
  sums_finish_kernel<<<blocks_for(channels), kBlockSize, 0, stream>>>(partial, splits, channels, sum_dy, sum_dy_xhat);
  FF_CUDA_CHECK_LAUNCH();
  FF_CUDA_CHECK(cudaFreeAsync(partial, stream));
}

template <class T>
void nextvlad_assignment_backward(const NeXtVladAssignmentInputs<T>& in, const T* dout, const T* statistics_mask,
                                  const T* count, const T* sum_dy, const T* sum_dy_xhat, T* dlogits,
                                  T* dattention_logits) {
  if (in.rows == 0 || in.channels() == 0 || (!dlogits && !dattention_logits)) return;
  backward_kernel<<<segment_blocks(in.rows * in.groups), kThreads, 0, current_stream()>>>(
      in, dout, statistics_mask, count, sum_dy, sum_dy_xhat, dlogits, dattention_logits);
  FF_CUDA_CHECK_LAUNCH();
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_NEXTVLAD_ASSIGNMENT)

}  // namespace ff::cuda
