#include <algorithm>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops/op_checks.h"
#include "kernels/reduce.h"

namespace ff {
namespace {

std::vector<int64_t> normalized_axes(std::vector<int64_t> axes, int64_t rank, const char* op) {
  for (int64_t& a : axes) a = detail::normalize_axis(a, rank, op);
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
    throw std::invalid_argument(std::string(op) + ": repeated axis");
  return axes;
}

// Sums along one axis, keeping it with size 1.
Tensor reduce_axis(const Tensor& x, int64_t axis, double scale_by) {
  Shape out_shape = x.shape();
  out_shape[size_t(axis)] = 1;
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  AxisView v = detail::axis_view(x.shape(), axis);
  visit_float_dtype(x.dtype(), "sum", [&]<class T>() {
    FF_RUN_KERNEL(x.device(), sum_axis<T>, v, x.data<T>(), y.data<T>(), T(scale_by));
  });
  return y;
}

// Repeats a size-1 axis n times.
Tensor expand_axis(const Tensor& y, int64_t axis, int64_t n, double scale_by) {
  Shape out_shape = y.shape();
  out_shape[size_t(axis)] = n;
  Tensor x = Tensor::empty(out_shape, y.dtype(), y.device());
  AxisView v = detail::axis_view(out_shape, axis);
  visit_float_dtype(y.dtype(), "sum backward", [&]<class T>() {
    FF_RUN_KERNEL(y.device(), broadcast_axis<T>, v, y.data<T>(), x.data<T>(), T(scale_by));
  });
  return x;
}

Tensor reduce(const Tensor& x, std::vector<int64_t> axes_in, bool keep_dims, bool average, const char* op) {
  detail::check_defined(x, op, "input");
  std::vector<int64_t> axes = normalized_axes(std::move(axes_in), x.dim(), op);
  Shape input_shape = x.shape();
  double count = 1;
  for (int64_t a : axes) count *= double(input_shape[size_t(a)]);
  double factor = average ? (count > 0 ? 1.0 / count : 0.0) : 1.0;

  Tensor y = x;
  for (size_t i = 0; i < axes.size(); ++i) y = reduce_axis(y, axes[i], i == 0 ? factor : 1.0);
  if (axes.empty()) y = x.clone();
  Shape kept_shape = y.shape();
  Shape out_shape;
  for (int64_t i = 0; i < x.dim(); ++i)
    if (keep_dims || !std::binary_search(axes.begin(), axes.end(), i)) out_shape.push_back(kept_shape[size_t(i)]);
  Tensor out = y.view(out_shape);

  return record(out, {x}, op, [=](const Tensor& g, const NeedsGrad&) -> std::vector<Tensor> {
    Tensor dx = g.view(kept_shape);
    for (size_t i = 0; i < axes.size(); ++i)
      dx = expand_axis(dx, axes[i], input_shape[size_t(axes[i])], i == 0 ? factor : 1.0);
    if (axes.empty()) dx = g.clone();
    return {dx};
  });
}

}  // namespace

Tensor sum(const Tensor& x, std::vector<int64_t> axes, bool keep_dims) {
  return reduce(x, std::move(axes), keep_dims, false, "sum");
}
Tensor mean(const Tensor& x, std::vector<int64_t> axes, bool keep_dims) {
  return reduce(x, std::move(axes), keep_dims, true, "mean");
}

Tensor sum_all(const Tensor& x) {
  detail::check_defined(x, "sum_all", "input");
  return reshape(sum(reshape(x, {x.numel()}), {0}), {});
}
Tensor mean_all(const Tensor& x) {
  detail::check_defined(x, "mean_all", "input");
  return reshape(mean(reshape(x, {x.numel()}), {0}), {});
}

Tensor sum_to_shape(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  if (shape.size() > x.shape().size())
    throw std::invalid_argument("sum_to_shape: " + x.str() + " cannot reduce to " + shape_str(shape));
  int64_t leading = x.dim() - int64_t(shape.size());
  Tensor y = x;
  if (leading > 0) {  // fold the extra leading axes into one and sum it away
    Shape rest(x.shape().begin() + leading, x.shape().end());
    y = sum(reshape(x, [&] { Shape s{-1}; s.insert(s.end(), rest.begin(), rest.end()); return s; }()), {0});
  }
  std::vector<int64_t> axes;
  for (int64_t i = 0; i < int64_t(shape.size()); ++i)
    if (shape[size_t(i)] == 1 && y.shape()[size_t(i)] != 1) axes.push_back(i);
    else if (shape[size_t(i)] != y.shape()[size_t(i)])
      throw std::invalid_argument("sum_to_shape: " + x.str() + " cannot reduce to " + shape_str(shape));
  return axes.empty() ? y : sum(y, axes, true);
}

}  // namespace ff
