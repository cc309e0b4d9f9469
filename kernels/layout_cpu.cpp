#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "kernels/instantiate.h"
#include "kernels/layout.h"

namespace ff::cpu {

template <class T>
void transpose_axes(TransposeView v, const T* x, T* y) {
#pragma omp parallel for collapse(2) if (v.a * v.d0 * v.b * v.d1 * v.c > (1 << 16))
  for (int64_t p = 0; p < v.a; ++p)
    for (int64_t j1 = 0; j1 < v.d1; ++j1)
      for (int64_t q = 0; q < v.b; ++q)
        for (int64_t j0 = 0; j0 < v.d0; ++j0) {
          const T* src = x + (((p * v.d0 + j0) * v.b + q) * v.d1 + j1) * v.c;
          T* dst = y + (((p * v.d1 + j1) * v.b + q) * v.d0 + j0) * v.c;
          for (int64_t r = 0; r < v.c; ++r) dst[r] = src[r];
        }
}

template <class T>
void copy_axis_block(const AxisBlockCopy& k, const T* src, T* dst) {
#pragma omp parallel for if (k.outer * k.count * k.inner > (1 << 16))
  for (int64_t o = 0; o < k.outer; ++o)
    for (int64_t j = 0; j < k.count; ++j) {
      const T* s = src + (o * k.src_n + k.src_start + j) * k.inner;
      T* d = dst + (o * k.dst_n + k.dst_start + j) * k.inner;
      for (int64_t i = 0; i < k.inner; ++i) d[i] = s[i];
    }
}

namespace {
void check_index(int32_t index, int64_t frames, int64_t b, int64_t j) {
  if (index < 0 || index >= frames)
    throw std::out_of_range("gather_frames: index " + std::to_string(index) + " at [" + std::to_string(b) + ", " +
                            std::to_string(j) + "] is outside [0, " + std::to_string(frames) + ")");
}
}  // namespace

template <class T>
void gather_frames_forward(int64_t batch, int64_t frames, int64_t dim, int64_t k, const T* x, const int32_t* indices,
                           T* y) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t j = 0; j < k; ++j) check_index(indices[b * k + j], frames, b, j);
#pragma omp parallel for collapse(2) if (batch * k * dim > (1 << 16))
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t j = 0; j < k; ++j) {
      const T* src = x + (b * frames + indices[b * k + j]) * dim;
      T* dst = y + (b * k + j) * dim;
      for (int64_t d = 0; d < dim; ++d) dst[d] = src[d];
    }
}

template <class T>
void gather_frames_backward(int64_t batch, int64_t frames, int64_t dim, int64_t k, const T* dy, const int32_t* indices,
                            T* dx) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t j = 0; j < k; ++j) check_index(indices[b * k + j], frames, b, j);
#pragma omp parallel for if (batch * frames * dim > (1 << 16))
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < frames * dim; ++i) dx[b * frames * dim + i] = T(0);
    for (int64_t j = 0; j < k; ++j) {
      const T* src = dy + (b * k + j) * dim;
      T* dst = dx + (b * frames + indices[b * k + j]) * dim;
      for (int64_t d = 0; d < dim; ++d) dst[d] += src[d];
    }
  }
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_LAYOUT)

}  // namespace ff::cpu
