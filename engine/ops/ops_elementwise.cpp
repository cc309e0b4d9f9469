#include <stdexcept>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops/op_checks.h"
#include "kernels/elementwise.h"

namespace ff {
namespace {

Tensor unary(UnaryOp op, const char* name, const Tensor& x, double alpha = 0) {
  detail::check_defined(x, name, "input");
  Tensor y = Tensor::empty_like(x);
  visit_float_dtype(x.dtype(), name, [&]<class T>() {
    FF_RUN_KERNEL(x.device(), unary_forward<T>, op, x.data<T>(), y.data<T>(), x.numel(), T(alpha));
  });
  Tensor saved_x = x.detach(), saved_y = y.detach();
  return record(y, {x}, name, [=](const Tensor& dy, const NeedsGrad&) -> std::vector<Tensor> {
    Tensor dx = Tensor::empty_like(dy);
    visit_float_dtype(dy.dtype(), name, [&]<class T>() {
      FF_RUN_KERNEL(dy.device(), unary_backward<T>, op, saved_x.data<T>(), saved_y.data<T>(), dy.data<T>(),
                    dx.data<T>(), dy.numel(), T(alpha));
    });
    return {dx};
  });
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      throw std::invalid_argument(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                                  " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// Strides of `shape` read as `out` (right-aligned), 0 along broadcast axes; leading axes of size 1 are
// merged away so the index arithmetic stays within kMaxDims.
BroadcastIndex broadcast_index(const Shape& out, const Shape& a, const Shape& b, const char* op) {
  BroadcastIndex index;
  int64_t stride_a = 1, stride_b = 1;
  std::vector<int64_t> dims, sa, sb;
  for (int64_t i = int64_t(out.size()) - 1; i >= 0; --i) {
    int64_t ia = i - int64_t(out.size() - a.size()), ib = i - int64_t(out.size() - b.size());
    int64_t da = ia >= 0 ? a[size_t(ia)] : 1, db = ib >= 0 ? b[size_t(ib)] : 1;
    if (out[size_t(i)] != 1) {
      dims.push_back(out[size_t(i)]);
      sa.push_back(da == 1 ? 0 : stride_a);
      sb.push_back(db == 1 ? 0 : stride_b);
    }
    stride_a *= da;
    stride_b *= db;
  }
  // Merge an axis into the next inner one when both inputs step through them as one run (same-shape
  // operands become one flat axis, a bias add two): fewer divisions per element, and the kernels' flat
  // fast path applies.
  std::vector<int64_t> md, ma, mb;
  for (size_t i = 0; i < dims.size(); ++i) {  // innermost first
    if (!md.empty() && sa[i] == ma.back() * md.back() && sb[i] == mb.back() * md.back()) {
      md.back() *= dims[i];
      continue;
    }
    md.push_back(dims[i]);
    ma.push_back(sa[i]);
    mb.push_back(sb[i]);
  }
  if (md.size() > size_t(kMaxDims))
    throw std::invalid_argument(std::string(op) + ": more than " + std::to_string(kMaxDims) + " broadcast axes");
  index.rank = int(md.size());
  for (int d = 0; d < index.rank; ++d) {  // collected innermost first
    index.shape[d] = md[md.size() - 1 - size_t(d)];
    index.stride_a[d] = ma[ma.size() - 1 - size_t(d)];
    index.stride_b[d] = mb[mb.size() - 1 - size_t(d)];
  }
  return index;
}

Tensor binary_raw(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  detail::check_compatible(a, b, name);
  Shape out_shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
  BroadcastIndex index = broadcast_index(out_shape, a.shape(), b.shape(), name);
  visit_float_dtype(a.dtype(), name, [&]<class T>() {
    FF_RUN_KERNEL(a.device(), binary_forward<T>, op, index, a.data<T>(), b.data<T>(), out.data<T>(), out.numel());
  });
  return out;
}

Tensor binary(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  Tensor out = binary_raw(op, name, a, b);
  Tensor saved_a = a.detach(), saved_b = b.detach();
  return record(out, {a, b}, name, [=](const Tensor& g, const NeedsGrad& needs) -> std::vector<Tensor> {
    Tensor ga, gb;
    switch (op) {
      case BinaryOp::Add:
        if (needs[0]) ga = sum_to_shape(g, saved_a.shape());
        if (needs[1]) gb = sum_to_shape(g, saved_b.shape());
        break;
      case BinaryOp::Sub:
        if (needs[0]) ga = sum_to_shape(g, saved_a.shape());
        if (needs[1]) gb = sum_to_shape(scale(g, -1.0), saved_b.shape());
        break;
      case BinaryOp::Mul:
        if (needs[0]) ga = sum_to_shape(binary_raw(BinaryOp::Mul, "mul", g, saved_b), saved_a.shape());
        if (needs[1]) gb = sum_to_shape(binary_raw(BinaryOp::Mul, "mul", g, saved_a), saved_b.shape());
        break;
      case BinaryOp::Div: {
        Tensor g_over_b = binary_raw(BinaryOp::Div, "div", g, saved_b);
        if (needs[0]) ga = sum_to_shape(g_over_b, saved_a.shape());
        if (needs[1]) {  // d(a/b)/db = -a/b^2 = -(g/b) * (a/b)
          Tensor quotient = binary_raw(BinaryOp::Div, "div", saved_a, saved_b);
          gb = sum_to_shape(scale(binary_raw(BinaryOp::Mul, "mul", g_over_b, quotient), -1.0), saved_b.shape());
        }
        break;
      }
    }
    return {ga, gb};
  });
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Add, "add", a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Sub, "sub", a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Mul, "mul", a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Div, "div", a, b); }
Tensor scale(const Tensor& x, double alpha) { return unary(UnaryOp::Scale, "scale", x, alpha); }
Tensor sigmoid(const Tensor& x) { return unary(UnaryOp::Sigmoid, "sigmoid", x); }
Tensor relu(const Tensor& x) { return unary(UnaryOp::Relu, "relu", x); }
Tensor log_sigmoid(const Tensor& x) { return unary(UnaryOp::LogSigmoid, "log_sigmoid", x); }
Tensor exp(const Tensor& x) { return unary(UnaryOp::Exp, "exp", x); }
Tensor log(const Tensor& x) { return unary(UnaryOp::Log, "log", x); }
Tensor square(const Tensor& x) { return unary(UnaryOp::Square, "square", x); }

void add_(const Tensor& target, const Tensor& source, double alpha) {
  detail::check_compatible(target, source, "add_");
  if (target.shape() != source.shape())
    throw std::invalid_argument("add_: " + source.str() + " into " + target.str());
  visit_float_dtype(target.dtype(), "add_", [&]<class T>() {
    FF_RUN_KERNEL(target.device(), axpy<T>, target.numel(), T(alpha), source.data<T>(), target.data<T>());
  });
}

}  // namespace ff
