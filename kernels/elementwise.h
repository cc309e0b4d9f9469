// Elementwise math: unary activations with their derivatives, broadcasting binary ops, axpy.
#pragma once
#include <cmath>

#include "kernels/common.h"

namespace ff {

enum class UnaryOp : int { Sigmoid, Relu, LogSigmoid, Scale, Exp, Log, Square };
enum class BinaryOp : int { Add, Sub, Mul, Div };

// Output element i of a broadcasting binary op is contiguous; each input is read through strides that are
// 0 along its broadcast axes. Rank is small (tensors here have at most kMaxDims axes).
constexpr int kMaxDims = 6;
struct BroadcastIndex {
  int rank = 0;
  int64_t shape[kMaxDims] = {};
  int64_t stride_a[kMaxDims] = {};
  int64_t stride_b[kMaxDims] = {};

  // Both inputs contiguous with the output's shape: the kernels skip the index arithmetic.
  FF_HD bool flat() const { return rank == 1 && stride_a[0] == 1 && stride_b[0] == 1; }

  FF_HD void offsets(int64_t i, int64_t& a, int64_t& b) const {
    a = 0, b = 0;
    for (int d = rank - 1; d >= 0; --d) {
      int64_t c = i % shape[d];
      i /= shape[d];
      a += c * stride_a[d];
      b += c * stride_b[d];
    }
  }
};

// y = f(x); alpha is the factor of Scale and unused otherwise.
template <class T>
FF_HD T unary_value(UnaryOp op, T x, T alpha) {
  switch (op) {
    case UnaryOp::Sigmoid: return x >= T(0) ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
    case UnaryOp::Relu: return x > T(0) ? x : T(0);
    // log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)): no overflow for any x.
    case UnaryOp::LogSigmoid: return (x < T(0) ? x : T(0)) - std::log1p(std::exp(-std::fabs(x)));
    case UnaryOp::Scale: return alpha * x;
    case UnaryOp::Exp: return std::exp(x);
    case UnaryOp::Log: return std::log(x);
    case UnaryOp::Square: return x * x;
  }
  return T(0);
}

// dy/dx from the input x and the output y (whichever is cheaper).
template <class T>
FF_HD T unary_derivative(UnaryOp op, T x, T y, T alpha) {
  switch (op) {
    case UnaryOp::Sigmoid: return y * (T(1) - y);
    case UnaryOp::Relu: return x > T(0) ? T(1) : T(0);
    case UnaryOp::LogSigmoid: return T(1) - std::exp(y);  // 1 - sigmoid(x)
    case UnaryOp::Scale: return alpha;
    case UnaryOp::Exp: return y;
    case UnaryOp::Log: return T(1) / x;
    case UnaryOp::Square: return T(2) * x;
  }
  return T(0);
}

template <class T>
FF_HD T binary_value(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return a / b;
  }
  return T(0);
}

}  // namespace ff

#define FF_ELEMENTWISE_KERNELS                                                                          \
  template <class T>                                                                                    \
  void unary_forward(::ff::UnaryOp op, const T* x, T* y, int64_t n, T alpha);                           \
  /* dx = dy * f'(x) */                                                                                 \
  template <class T>                                                                                    \
  void unary_backward(::ff::UnaryOp op, const T* x, const T* y, const T* dy, T* dx, int64_t n, T alpha); \
  /* out[i] = a[ia] op b[ib], out contiguous with index.shape */                                       \
  template <class T>                                                                                    \
  void binary_forward(::ff::BinaryOp op, const ::ff::BroadcastIndex& index, const T* a, const T* b, T* out, \
                      int64_t n);                                                                       \
  /* y += alpha * x */                                                                                  \
  template <class T>                                                                                    \
  void axpy(int64_t n, T alpha, const T* x, T* y);

namespace ff::cpu {
FF_ELEMENTWISE_KERNELS
}
namespace ff::cuda {
FF_ELEMENTWISE_KERNELS
}

// Both backends instantiate exactly this list.
#define FF_INSTANTIATE_ELEMENTWISE(T)                                                               \
  template void unary_forward<T>(::ff::UnaryOp, const T*, T*, int64_t, T);                           \
  template void unary_backward<T>(::ff::UnaryOp, const T*, const T*, const T*, T*, int64_t, T);      \
  template void binary_forward<T>(::ff::BinaryOp, const ::ff::BroadcastIndex&, const T*, const T*, T*, int64_t); \
  template void axpy<T>(int64_t, T, const T*, T*);
