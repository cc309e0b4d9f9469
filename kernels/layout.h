// Data movement: swapping two axes, copying a block along one axis (concat and slice), and gathering
// frames by index (the student's k sampled frames out of a video's frames).
#pragma once
#include "kernels/common.h"

namespace ff {
// A tensor viewed as [a, d0, b, d1, c]; the transposed layout is [a, d1, b, d0, c].
struct TransposeView {
  int64_t a = 1, d0 = 1, b = 1, d1 = 1, c = 1;
};
// dst[o, dst_start + j, i] = src[o, src_start + j, i] for j < count; src has src_n rows along the axis,
// dst has dst_n.
struct AxisBlockCopy {
  int64_t outer = 1, inner = 1, count = 0;
  int64_t src_n = 0, src_start = 0;
  int64_t dst_n = 0, dst_start = 0;
};
}  // namespace ff

#define FF_LAYOUT_KERNELS                                                                                 \
  template <class T>                                                                                      \
  void transpose_axes(::ff::TransposeView view, const T* x, T* y);                                        \
  template <class T>                                                                                      \
  void copy_axis_block(const ::ff::AxisBlockCopy& block, const T* src, T* dst);                           \
  /* y[b, j, :] = x[b, indices[b, j], :]; x is [batch, frames, dim]. An index outside [0, frames) yields  \
     NaN in its row (never memory outside x), and the CPU reference throws. */                            \
  template <class T>                                                                                      \
  void gather_frames_forward(int64_t batch, int64_t frames, int64_t dim, int64_t k, const T* x,           \
                             const int32_t* indices, T* y);                                               \
  /* dx = 0, then dx[b, indices[b, j], :] += dy[b, j, :] in order of j (deterministic) */                 \
  template <class T>                                                                                      \
  void gather_frames_backward(int64_t batch, int64_t frames, int64_t dim, int64_t k, const T* dy,         \
                              const int32_t* indices, T* dx);

namespace ff::cpu {
FF_LAYOUT_KERNELS
}
namespace ff::cuda {
FF_LAYOUT_KERNELS
}

#define FF_INSTANTIATE_LAYOUT(T)                                                                          \
  template void transpose_axes<T>(::ff::TransposeView, const T*, T*);                                     \
  template void copy_axis_block<T>(const ::ff::AxisBlockCopy&, const T*, T*);                             \
  template void gather_frames_forward<T>(int64_t, int64_t, int64_t, int64_t, const T*, const int32_t*, T*); \
  template void gather_frames_backward<T>(int64_t, int64_t, int64_t, int64_t, const T*, const int32_t*, T*);
