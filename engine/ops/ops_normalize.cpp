#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops/op_checks.h"
#include "kernels/l2_normalize.h"
#include "kernels/softmax.h"

namespace ff {

namespace {

// softmax and log_softmax along the last axis: the same checks, shapes and autograd record; the kernels
// differ. Both backward passes need only the output (softmax's y, or log_softmax's y with softmax = exp(y)).
Tensor softmax_or_log(const Tensor& x, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  detail::check_defined(x, name, "input");
  if (x.dim() < 1) throw std::invalid_argument(std::string(name) + ": needs at least one axis, got " + x.str());
  int64_t n = x.size(-1), rows = n ? x.numel() / n : 0;
  Tensor y = Tensor::empty_like(x);
  visit_float_dtype(x.dtype(), name, [&]<class T>() {
    if (log)
      FF_RUN_KERNEL(x.device(), log_softmax_forward<T>, rows, n, x.data<T>(), y.data<T>());
    else
      FF_RUN_KERNEL(x.device(), softmax_forward<T>, rows, n, x.data<T>(), y.data<T>());
  });
  Tensor saved_y = y.detach();
  return record(y, {x}, name, [=](const Tensor& dy, const NeedsGrad&) -> std::vector<Tensor> {
    Tensor dx = Tensor::empty_like(dy);
    visit_float_dtype(dy.dtype(), name, [&]<class T>() {
      if (log)
        FF_RUN_KERNEL(dy.device(), log_softmax_backward<T>, rows, n, saved_y.data<T>(), dy.data<T>(), dx.data<T>());
      else
        FF_RUN_KERNEL(dy.device(), softmax_backward<T>, rows, n, saved_y.data<T>(), dy.data<T>(), dx.data<T>());
    });
    return {dx};
  });
}

}  // namespace

Tensor softmax(const Tensor& x) { return softmax_or_log(x, false); }
Tensor log_softmax(const Tensor& x) { return softmax_or_log(x, true); }

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
