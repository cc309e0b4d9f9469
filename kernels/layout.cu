#include <cmath>

#include "kernels/cuda_context.h"
#include "kernels/instantiate.h"
#include "kernels/layout.h"

namespace ff::cuda {
namespace {

// One thread per output element; the innermost run c is contiguous in both layouts.
template <class T>
__global__ void transpose_axes_kernel(TransposeView v, const T* x, T* y) {
  FF_CUDA_KERNEL_LOOP(index, v.a * v.d1 * v.b * v.d0 * v.c) {
    int64_t r = index % v.c, rest = index / v.c;
    int64_t j0 = rest % v.d0;
    rest /= v.d0;
    int64_t q = rest % v.b;
    rest /= v.b;
    int64_t j1 = rest % v.d1, p = rest / v.d1;
    y[index] = x[(((p * v.d0 + j0) * v.b + q) * v.d1 + j1) * v.c + r];
  }
}

template <class T>
__global__ void copy_axis_block_kernel(AxisBlockCopy k, const T* src, T* dst) {
  FF_CUDA_KERNEL_LOOP(index, k.outer * k.count * k.inner) {
    int64_t i = index % k.inner, rest = index / k.inner;
    int64_t j = rest % k.count, o = rest / k.count;
    dst[(o * k.dst_n + k.dst_start + j) * k.inner + i] = src[(o * k.src_n + k.src_start + j) * k.inner + i];
  }
}

template <class T>
__global__ void gather_frames_forward_kernel(int64_t batch, int64_t frames, int64_t dim, int64_t k, const T* x,
                                             const int32_t* indices, T* y) {
  FF_CUDA_KERNEL_LOOP(index, batch * k * dim) {
    int64_t d = index % dim, row = index / dim, b = row / k;
    int32_t frame = indices[row];
    y[index] = frame >= 0 && frame < frames ? x[(b * frames + frame) * dim + d] : T(NAN);
  }
}

// One thread per (b, d) walks the k indices in order: repeated indices add up without atomics, in the
// same order as the CPU reference.
template <class T>
__global__ void gather_frames_backward_kernel(int64_t batch, int64_t frames, int64_t dim, int64_t k, const T* dy,
                                              const int32_t* indices, T* dx) {
  FF_CUDA_KERNEL_LOOP(index, batch * dim) {
    int64_t d = index % dim, b = index / dim;
    for (int64_t m = 0; m < frames; ++m) dx[(b * frames + m) * dim + d] = T(0);
    for (int64_t j = 0; j < k; ++j) {
      int32_t frame = indices[b * k + j];
      if (frame >= 0 && frame < frames) dx[(b * frames + frame) * dim + d] += dy[(b * k + j) * dim + d];
    }
  }
}

}  // namespace

template <class T>
void transpose_axes(TransposeView v, const T* x, T* y) {
  int64_t n = v.a * v.d0 * v.b * v.d1 * v.c;
  if (n == 0) return;
  transpose_axes_kernel<<<blocks_for(n), kBlockSize, 0, current_stream()>>>(v, x, y);
  FF_CUDA_CHECK_LAUNCH();
}

template <class T>
void copy_axis_block(const AxisBlockCopy& k, const T* src, T* dst) {
  int64_t n = k.outer * k.count * k.inner;
  if (n == 0) return;
  copy_axis_block_kernel<<<blocks_for(n), kBlockSize, 0, current_stream()>>>(k, src, dst);
  FF_CUDA_CHECK_LAUNCH();
}

template <class T>
void gather_frames_forward(int64_t batch, int64_t frames, int64_t dim, int64_t k, const T* x, const int32_t* indices,
                           T* y) {
  int64_t n = batch * k * dim;
  if (n == 0) return;
  gather_frames_forward_kernel<<<blocks_for(n), kBlockSize, 0, current_stream()>>>(batch, frames, dim, k, x, indices,
                                                                                    y);
  FF_CUDA_CHECK_LAUNCH();
}

template <class T>
void gather_frames_backward(int64_t batch, int64_t frames, int64_t dim, int64_t k, const T* dy, const int32_t* indices,
                            T* dx) {
  int64_t n = batch * dim;
  if (n == 0) return;
  gather_frames_backward_kernel<<<blocks_for(n), kBlockSize, 0, current_stream()>>>(batch, frames, dim, k, dy,
                                                                                     indices, dx);
  FF_CUDA_CHECK_LAUNCH();
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_LAYOUT)

}  // namespace ff::cuda
