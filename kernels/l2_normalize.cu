#include "kernels/cuda_context.h"
#include "kernels/instantiate.h"
#include "kernels/l2_normalize.h"

namespace ff::cuda {
namespace {

// One thread per (outer, inner) vector. The engine normalises short vectors (the D = 64..256 entries of
// one VLAD cluster, strided by K): adjacent threads read adjacent inner positions, so loads coalesce.
template <class T>
__global__ void l2_normalize_forward_kernel(AxisView v, const T* x, T* y, T* norm, T epsilon) {
  FF_CUDA_KERNEL_LOOP(index, v.outer * v.inner) {
    int64_t o = index / v.inner, i = index % v.inner;
    int64_t base = o * v.n * v.inner + i;
    T squares = 0;
    for (int64_t j = 0; j < v.n; ++j) squares += x[base + j * v.inner] * x[base + j * v.inner];
    T s = sqrt(squares > epsilon ? squares : epsilon);
    norm[index] = s;
    for (int64_t j = 0; j < v.n; ++j) y[base + j * v.inner] = x[base + j * v.inner] / s;
  }
}

template <class T>
__global__ void l2_normalize_backward_kernel(AxisView v, const T* x, const T* norm, const T* dy, T* dx, T epsilon) {
  FF_CUDA_KERNEL_LOOP(index, v.outer * v.inner) {
    int64_t o = index / v.inner, i = index % v.inner;
    int64_t base = o * v.n * v.inner + i;
    T s = norm[index];
    // The sum of squares is recomputed in the forward's order, so the clamp decision matches exactly.
    T dot = 0, squares = 0;
    for (int64_t j = 0; j < v.n; ++j) {
      dot += dy[base + j * v.inner] * x[base + j * v.inner];
      squares += x[base + j * v.inner] * x[base + j * v.inner];
    }
    T correction = squares > epsilon ? dot / (s * s * s) : T(0);
    for (int64_t j = 0; j < v.n; ++j) dx[base + j * v.inner] = dy[base + j * v.inner] / s - x[base + j * v.inner] * correction;
  }
}

}  // namespace

template <class T>
void l2_normalize_forward(AxisView v, const T* x, T* y, T* norm, T epsilon) {
  if (v.outer * v.inner == 0) return;
  l2_normalize_forward_kernel<<<blocks_for(v.outer * v.inner), kBlockSize, 0, current_stream()>>>(v, x, y, norm,
                                                                                                   epsilon);
  FF_CUDA_CHECK_LAUNCH();
}

template <class T>
void l2_normalize_backward(AxisView v, const T* x, const T* norm, const T* dy, T* dx, T epsilon) {
  if (v.outer * v.inner == 0) return;
  l2_normalize_backward_kernel<<<blocks_for(v.outer * v.inner), kBlockSize, 0, current_stream()>>>(v, x, norm, dy,
                                                                                                    dx, epsilon);
  FF_CUDA_CHECK_LAUNCH();
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_L2_NORMALIZE)

}  // namespace ff::cuda
