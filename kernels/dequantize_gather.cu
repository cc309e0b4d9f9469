#include <cstdint>

#include "kernels/cuda_context.h"
#include "kernels/dequantize_gather.h"

namespace ff::cuda {
namespace {

// The source byte offset of output element (slot, d), or -1 for a padding slot.
__device__ __forceinline__ int64_t source_offset(int64_t slot, int64_t d, int64_t frames, int64_t size, int64_t k,
                                                 const int32_t* indices) {
  const int64_t index = indices[slot];
  if (index < 0 || index >= frames) return -1;
  return ((slot / k) * frames + index) * size + d;
}

// One thread per output element.
__global__ void gather_kernel(int64_t batch, int64_t frames, int64_t size, int64_t k, const uint8_t* q,
                              const int32_t* indices, float* y) {
  FF_CUDA_KERNEL_LOOP(i, batch * k * size) {
    const int64_t offset = source_offset(i / size, i % size, frames, size, k, indices);
    y[i] = dequantize_value(offset < 0 ? uint8_t(0) : q[offset]);
  }
}

// Four elements per thread, one 4-byte load and one 16-byte store, when the frame size is a multiple of 4
// and both buffers are aligned for it (every YouTube-8M feature: 1024 and 128).
__global__ void gather_kernel_vector4(int64_t batch, int64_t frames, int64_t size, int64_t k, const uint8_t* q,
                                      const int32_t* indices, float* y) {
  const int64_t quads_per_frame = size / 4;
  FF_CUDA_KERNEL_LOOP(i, batch * k * quads_per_frame) {
    const int64_t slot = i / quads_per_frame, d = (i % quads_per_frame) * 4;
    const int64_t offset = source_offset(slot, d, frames, size, k, indices);
    uchar4 bytes = offset < 0 ? make_uchar4(0, 0, 0, 0) : *reinterpret_cast<const uchar4*>(q + offset);
    float4 values = make_float4(dequantize_value(bytes.x), dequantize_value(bytes.y), dequantize_value(bytes.z),
                                dequantize_value(bytes.w));
    *reinterpret_cast<float4*>(y + slot * size + d) = values;
  }
}

}  // namespace

void dequantize_gather(int64_t batch, int64_t frames, int64_t size, int64_t k, const uint8_t* q,
                       const int32_t* indices, float* y) {
  const int64_t n = batch * k * size;
  if (n == 0) return;
  const bool aligned = reinterpret_cast<uintptr_t>(q) % 4 == 0 && reinterpret_cast<uintptr_t>(y) % 16 == 0;
  if (size % 4 == 0 && aligned)
    gather_kernel_vector4<<<blocks_for(n / 4), kBlockSize, 0, current_stream()>>>(batch, frames, size, k, q, indices,
                                                                                   y);
  else
    gather_kernel<<<blocks_for(n), kBlockSize, 0, current_stream()>>>(batch, frames, size, k, q, indices, y);
  FF_CUDA_CHECK_LAUNCH();
}

}  // namespace ff::cuda
