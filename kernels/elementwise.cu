#include "kernels/cuda_context.h"
#include "kernels/elementwise.h"
#include "kernels/instantiate.h"

namespace ff::cuda {
namespace {

template <class T>
__global__ void unary_forward_kernel(UnaryOp op, const T* x, T* y, int64_t n, T alpha) {
  FF_CUDA_KERNEL_LOOP(i, n) y[i] = unary_value(op, x[i], alpha);
}

template <class T>
__global__ void unary_backward_kernel(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n, T alpha) {
  FF_CUDA_KERNEL_LOOP(i, n) dx[i] = dy[i] * unary_derivative(op, x ? x[i] : T(0), y ? y[i] : T(0), alpha);
}

template <class T>
__global__ void binary_forward_kernel(BinaryOp op, BroadcastIndex index, const T* a, const T* b, T* out, int64_t n) {
  if (index.flat()) {
    FF_CUDA_KERNEL_LOOP(i, n) out[i] = binary_value(op, a[i], b[i]);
    return;
  }
  FF_CUDA_KERNEL_LOOP(i, n) {
    int64_t ia, ib;
    index.offsets(i, ia, ib);
    out[i] = binary_value(op, a[ia], b[ib]);
  }
}

template <class T>
__global__ void axpy_kernel(int64_t n, T alpha, const T* x, T* y) {
  FF_CUDA_KERNEL_LOOP(i, n) y[i] += alpha * x[i];
}

}  // namespace

template <class T>
void unary_forward(UnaryOp op, const T* x, T* y, int64_t n, T alpha) {
  if (n == 0) return;
  unary_forward_kernel<<<blocks_for(n), kBlockSize, 0, current_stream()>>>(op, x, y, n, alpha);
  FF_CUDA_CHECK_LAUNCH();
}

template <class T>
void unary_backward(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n, T alpha) {
  if (n == 0) return;
  unary_backward_kernel<<<blocks_for(n), kBlockSize, 0, current_stream()>>>(op, x, y, dy, dx, n, alpha);
  FF_CUDA_CHECK_LAUNCH();
}

template <class T>
void binary_forward(BinaryOp op, const BroadcastIndex& index, const T* a, const T* b, T* out, int64_t n) {
  if (n == 0) return;
  binary_forward_kernel<<<blocks_for(n), kBlockSize, 0, current_stream()>>>(op, index, a, b, out, n);
  FF_CUDA_CHECK_LAUNCH();
}

template <class T>
void axpy(int64_t n, T alpha, const T* x, T* y) {
  if (n == 0) return;
  axpy_kernel<<<blocks_for(n), kBlockSize, 0, current_stream()>>>(n, alpha, x, y);
  FF_CUDA_CHECK_LAUNCH();
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_ELEMENTWISE)

}  // namespace ff::cuda
