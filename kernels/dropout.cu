#include "kernels/cuda_context.h"
#include "kernels/dropout.h"
#include "kernels/instantiate.h"
#include "kernels/philox.h"

namespace ff::cuda {
namespace {

// One thread per Philox block: the block's four 32-bit outputs are stream elements 4g .. 4g + 3, so each
// block is generated once instead of once per element. The conversion to [0, 1) is philox::uniform's.
template <class T>
__global__ void dropout_kernel(const T* x, T* y, int64_t n, uint64_t seed, uint64_t offset, double rate, T scale,
                               int64_t groups) {
  const uint64_t first_group = offset >> 2;
  FF_CUDA_KERNEL_LOOP(g, groups) {
    const uint64_t group = first_group + uint64_t(g);
    const philox::Block block = philox::generate(group, seed);
#pragma unroll
    for (int lane = 0; lane < 4; ++lane) {
      const uint64_t stream_index = group * 4 + uint64_t(lane);
      if (stream_index < offset || stream_index - offset >= uint64_t(n)) continue;
      const int64_t i = int64_t(stream_index - offset);
      const float uniform = float(block.v[lane] >> 8) * (1.0f / 16777216.0f);
      y[i] = dropout_keeps(uniform, rate) ? x[i] * scale : T(0);
    }
  }
}

}  // namespace

template <class T>
void dropout_apply(const T* x, T* y, int64_t n, uint64_t seed, uint64_t offset, double rate) {
  if (n == 0) return;
  const int64_t groups = int64_t(((offset + uint64_t(n) - 1) >> 2) - (offset >> 2) + 1);
  const T scale = T(1.0 / (1.0 - rate));
  dropout_kernel<<<blocks_for(groups), kBlockSize, 0, current_stream()>>>(x, y, n, seed, offset, rate, scale, groups);
  FF_CUDA_CHECK_LAUNCH();
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_DROPOUT)

}  // namespace ff::cuda
