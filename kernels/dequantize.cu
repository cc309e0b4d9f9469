#include "kernels/cuda_context.h"
#include "kernels/dequantize.h"

namespace ff::cuda {
namespace {
__global__ void dequantize_kernel(const uint8_t* q, float* y, int64_t n) {
  FF_CUDA_KERNEL_LOOP(i, n) y[i] = dequantize_value(q[i]);
}
}  // namespace

void dequantize(const uint8_t* q, float* y, int64_t n) {
  if (n == 0) return;
  dequantize_kernel<<<blocks_for(n), kBlockSize, 0, current_stream()>>>(q, y, n);
  FF_CUDA_CHECK_LAUNCH();
}

}  // namespace ff::cuda
