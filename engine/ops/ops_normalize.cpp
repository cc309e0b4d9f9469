#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops/op_checks.h"
#include "kernels/l2_normalize.h"
#include "kernels/softmax.h"

namespace ff {

Tensor softmax(const Tensor& x) {
  detail::check_defined(x, "softmax", "input");
  if (x.dim() < 1) throw std::invalid_argument("softmax: needs at least one axis, got " + x.str());
  int64_t n = x.size(-1), rows = n ? x.numel() / n : 0;
  Tensor y = Tensor::empty_like(x);
  visit_float_dtype(x.dtype(), "softmax", [&]<class T>() {
    FF_RUN_KERNEL(x.device(), softmax_forward<T>, rows, n, x.data<T>(), y.data<T>());
  });
  Tensor saved_y = y.detach();
  return record(y, {x}, "softmax", [=](const Tensor& dy, const NeedsGrad&) -> std::vector<Tensor> {
    Tensor dx = Tensor::empty_like(dy);
    visit_float_dtype(dy.dtype(), "softmax", [&]<class T>() {
      FF_RUN_KERNEL(dy.device(), softmax_backward<T>, rows, n, saved_y.data<T>(), dy.data<T>(), dx.data<T>());
    });
    return {dx};
  });
}

Tensor log_softmax(const Tensor& x) {
  detail::check_defined(x, "log_softmax", "input");
  if (x.dim() < 1) throw std::invalid_argument("log_softmax: needs at least one axis, got " + x.str());
  int64_t n = x.size(-1), rows = n ? x.numel() / n : 0;
  Tensor y = Tensor::empty_like(x);
  visit_float_dtype(x.dtype(), "log_softmax", [&]<class T>() {
    FF_RUN_KERNEL(x.device(), log_softmax_forward<T>, rows, n, x.data<T>(), y.data<T>());
  });
  // The backward needs softmax(x) = exp(y), so the output is all it keeps.
  Tensor saved_y = y.detach();
  return record(y, {x}, "log_softmax", [=](const Tensor& dy, const NeedsGrad&) -> std::vector<Tensor> {
    Tensor dx = Tensor::empty_like(dy);
    visit_float_dtype(dy.dtype(), "log_softmax", [&]<class T>() {
      FF_RUN_KERNEL(dy.device(), log_softmax_backward<T>, rows, n, saved_y.data<T>(), dy.data<T>(), dx.data<T>());
    });
    return {dx};
  });
}

Tensor l2_normalize(const Tensor& x, int64_t axis_in, double epsilon) {
  detail::check_defined(x, "l2_normalize", "input");
  int64_t axis = detail::normalize_axis(axis_in, x.dim(), "l2_normalize");
  AxisView v = detail::axis_view(x.shape(), axis);
  Tensor y = Tensor::empty_like(x);
  Tensor norm = Tensor::empty({v.outer * v.inner}, x.dtype(), x.device());
  visit_float_dtype(x.dtype(), "l2_normalize", [&]<class T>() {
    FF_RUN_KERNEL(x.device(), l2_normalize_forward<T>, v, x.data<T>(), y.data<T>(), norm.data<T>(), T(epsilon));
  });
  Tensor saved_x = x.detach();
  return record(y, {x}, "l2_normalize", [=](const Tensor& dy, const NeedsGrad&) -> std::vector<Tensor> {
    Tensor dx = Tensor::empty_like(dy);
    visit_float_dtype(dy.dtype(), "l2_normalize", [&]<class T>() {
      FF_RUN_KERNEL(dy.device(), l2_normalize_backward<T>, v, saved_x.data<T>(), norm.data<T>(), dy.data<T>(),
                    dx.data<T>(), T(epsilon));
    });
    return {dx};
  });
}

}  // namespace ff
