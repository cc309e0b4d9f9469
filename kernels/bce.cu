#include "kernels/bce.h"
#include "kernels/cuda_context.h"
#include "kernels/instantiate.h"

namespace ff::cuda {
namespace {

template <class T>
__global__ void forward_kernel(const T* x, const T* z, T* loss, int64_t n) {
  FF_CUDA_KERNEL_LOOP(i, n) loss[i] = bce_with_logits_value(x[i], z[i]);
}

template <class T>
__global__ void backward_kernel(const T* x, const T* z, const T* dloss, T* dx, T* dz, int64_t n) {
  FF_CUDA_KERNEL_LOOP(i, n) {
    if (dx) dx[i] = dloss[i] * (bce_sigmoid(x[i]) - z[i]);
    if (dz) dz[i] = -dloss[i] * x[i];
  }
}

}  // namespace

template <class T>
void bce_with_logits_forward(const T* x, const T* z, T* loss, int64_t n) {
  if (n == 0) return;
  forward_kernel<<<blocks_for(n), kBlockSize, 0, current_stream()>>>(x, z, loss, n);
  FF_CUDA_CHECK_LAUNCH();
}

template <class T>
void bce_with_logits_backward(const T* x, const T* z, const T* dloss, T* dx, T* dz, int64_t n) {
  if (n == 0) return;
  backward_kernel<<<blocks_for(n), kBlockSize, 0, current_stream()>>>(x, z, dloss, dx, dz, n);
  FF_CUDA_CHECK_LAUNCH();
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_BCE)

}  // namespace ff::cuda
