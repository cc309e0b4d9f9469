#include "kernels/elementwise.h"

#include "kernels/instantiate.h"

namespace ff::cpu {

template <class T>
void unary_forward(UnaryOp op, const T* x, T* y, int64_t n, T alpha) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) y[i] = unary_value(op, x[i], alpha);
}

template <class T>
void unary_backward(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n, T alpha) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * unary_derivative(op, x ? x[i] : T(0), y ? y[i] : T(0), alpha);
}

template <class T>
void binary_forward(BinaryOp op, const BroadcastIndex& index, const T* a, const T* b, T* out, int64_t n) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    int64_t ia, ib;
    index.offsets(i, ia, ib);
    out[i] = binary_value(op, a[ia], b[ib]);
  }
}

template <class T>
void axpy(int64_t n, T alpha, const T* x, T* y) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_ELEMENTWISE)

}  // namespace ff::cpu
