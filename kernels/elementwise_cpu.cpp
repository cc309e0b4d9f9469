#include "kernels/elementwise.h"

#include "kernels/instantiate.h"

namespace ff::cpu {

namespace {
// The op is a template argument here so the compiler drops the switch from the loop body.
template <UnaryOp Op, class T>
void unary_forward_loop(const T* x, T* y, int64_t n, T alpha) {
#pragma omp parallel for simd if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) y[i] = unary_value(Op, x[i], alpha);
}
}  // namespace

template <class T>
void unary_forward(UnaryOp op, const T* x, T* y, int64_t n, T alpha) {
  switch (op) {
    case UnaryOp::Sigmoid: return unary_forward_loop<UnaryOp::Sigmoid>(x, y, n, alpha);
    case UnaryOp::Relu: return unary_forward_loop<UnaryOp::Relu>(x, y, n, alpha);
    case UnaryOp::LogSigmoid: return unary_forward_loop<UnaryOp::LogSigmoid>(x, y, n, alpha);
    case UnaryOp::Scale: return unary_forward_loop<UnaryOp::Scale>(x, y, n, alpha);
    case UnaryOp::Exp: return unary_forward_loop<UnaryOp::Exp>(x, y, n, alpha);
    case UnaryOp::Log: return unary_forward_loop<UnaryOp::Log>(x, y, n, alpha);
    case UnaryOp::Square: return unary_forward_loop<UnaryOp::Square>(x, y, n, alpha);
  }
}

template <class T>
void unary_backward(UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n, T alpha) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * unary_derivative(op, x ? x[i] : T(0), y ? y[i] : T(0), alpha);
}

template <class T>
void binary_forward(BinaryOp op, const BroadcastIndex& index, const T* a, const T* b, T* out, int64_t n) {
  if (index.flat()) {
#pragma omp parallel for simd if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) out[i] = binary_value(op, a[i], b[i]);
    return;
  }
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
