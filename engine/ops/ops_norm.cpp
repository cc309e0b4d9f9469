#include <cmath>
#include <stdexcept>
#include <string>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops/op_checks.h"
#include "kernels/batch_norm.h"
#include "kernels/dropout.h"

namespace ff {
namespace {

// A per-channel operand of batch_norm: [channels], the device and dtype of x.
void check_channel_vector(const Tensor& t, const Tensor& x, const char* what) {
  detail::check_compatible(x, t, "batch_norm");
  if (t.shape() != Shape{x.size(1)})
    throw std::invalid_argument(std::string("batch_norm: ") + what + " " + t.str() + " does not match the " +
                                std::to_string(x.size(1)) + " channels of x " + x.str());
}

template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                  const Tensor& running_var, bool training, const Tensor& row_mask, const BatchNormOptions& options) {
  detail::check_defined(x, "batch_norm", "x");
  if (x.dim() != 2) throw std::invalid_argument("batch_norm: x must be [rows, channels], got " + x.str());
  const int64_t rows = x.size(0), channels = x.size(1);
  detail::check_defined(running_mean, "batch_norm", "running_mean");
  detail::check_defined(running_var, "batch_norm", "running_var");
  check_channel_vector(running_mean, x, "running_mean");
  check_channel_vector(running_var, x, "running_var");
  if (gamma.defined()) check_channel_vector(gamma, x, "gamma");
  if (beta.defined()) check_channel_vector(beta, x, "beta");
  if (row_mask.defined()) {
    detail::check_compatible(x, row_mask, "batch_norm");
    if (row_mask.shape() != Shape{rows})
      throw std::invalid_argument("batch_norm: row_mask " + row_mask.str() + " does not match the " +
                                  std::to_string(rows) + " rows of x " + x.str());
  }
  if (!(options.epsilon > 0)) throw std::invalid_argument("batch_norm: epsilon must be > 0");
  if (!(options.momentum >= 0 && options.momentum <= 1))
    throw std::invalid_argument("batch_norm: momentum must lie in [0, 1], got " + std::to_string(options.momentum));

  // The statistics the output is normalised with. Training: the batch's, detached from x here and
  // differentiated explicitly in the backward; inference: the running averages, constants.
  Tensor mean = Tensor::empty({channels}, x.dtype(), x.device());
  Tensor rstd = Tensor::empty({channels}, x.dtype(), x.device());
  Tensor count;  // [1], training only: the number of counted rows
  Tensor y = Tensor::empty_like(x);
  visit_float_dtype(x.dtype(), "batch_norm", [&]<class T>() {
    if (training) {
      Tensor variance = Tensor::empty({channels}, x.dtype(), x.device());
      count = Tensor::empty({1}, x.dtype(), x.device());
      FF_RUN_KERNEL(x.device(), batch_norm_statistics<T>, x.data<T>(), data_or_null<T>(row_mask), rows, channels,
                    T(options.epsilon), mean.data<T>(), variance.data<T>(), rstd.data<T>(), count.data<T>());
      FF_RUN_KERNEL(x.device(), batch_norm_update_running<T>, mean.data<T>(), variance.data<T>(), channels,
                    T(options.momentum), running_mean.data<T>(), running_var.data<T>());
    } else {
      mean.copy_from(running_mean);
      FF_RUN_KERNEL(x.device(), batch_norm_inverse_std<T>, running_var.data<T>(), channels, T(options.epsilon),
                    rstd.data<T>());
    }
    FF_RUN_KERNEL(x.device(), batch_norm_forward<T>, x.data<T>(), mean.data<T>(), rstd.data<T>(),
                  data_or_null<T>(gamma), data_or_null<T>(beta), rows, channels, y.data<T>());
  });

  Tensor saved_x = x.detach();
  Tensor saved_gamma = gamma.defined() ? gamma.detach() : Tensor();
  Tensor saved_mask = row_mask.defined() ? row_mask.detach() : Tensor();
  return record(y, {x, gamma, beta}, "batch_norm",
                [=](const Tensor& dy, const NeedsGrad& needs) -> std::vector<Tensor> {
                  Tensor dx, dgamma, dbeta;
                  // Training needs both sums for dx; gamma and beta need them in either mode.
                  bool need_sums = (needs[0] && training) || needs[1] || needs[2];
                  Tensor sum_dy, sum_dy_xhat;
                  visit_float_dtype(dy.dtype(), "batch_norm backward", [&]<class T>() {
                    if (need_sums) {
                      sum_dy = Tensor::empty({channels}, dy.dtype(), dy.device());
                      sum_dy_xhat = Tensor::empty({channels}, dy.dtype(), dy.device());
                      FF_RUN_KERNEL(dy.device(), batch_norm_backward_sums<T>, dy.data<T>(), saved_x.data<T>(),
                                    mean.data<T>(), rstd.data<T>(), rows, channels, sum_dy.data<T>(),
                                    sum_dy_xhat.data<T>());
                    }
                    if (needs[0]) {
                      dx = Tensor::empty_like(dy);
                      FF_RUN_KERNEL(dy.device(), batch_norm_backward_input<T>, dy.data<T>(), saved_x.data<T>(),
                                    mean.data<T>(), rstd.data<T>(), data_or_null<T>(saved_gamma),
                                    data_or_null<T>(saved_mask), data_or_null<T>(count), data_or_null<T>(sum_dy),
                                    data_or_null<T>(sum_dy_xhat), rows, channels, dx.data<T>());
                    }
                  });
                  if (needs[1]) dgamma = sum_dy_xhat;
                  if (needs[2]) dbeta = sum_dy;
                  return {dx, dgamma, dbeta};
                });
}

Tensor dropout(const Tensor& x, double rate, bool training, Generator& generator) {
  detail::check_defined(x, "dropout", "input");
  if (!(rate >= 0 && rate < 1))
    throw std::invalid_argument("dropout: rate must lie in [0, 1), got " + std::to_string(rate));
  if (!training || rate == 0) return x;

  const uint64_t seed = generator.seed();
  const uint64_t offset = generator.advance(uint64_t(x.numel()));
  Tensor y = Tensor::empty_like(x);
  visit_float_dtype(x.dtype(), "dropout", [&]<class T>() {
    FF_RUN_KERNEL(x.device(), dropout_apply<T>, x.data<T>(), y.data<T>(), x.numel(), seed, offset, rate);
  });
  // The backward applies the same mask and scale to the gradient: (seed, offset) reproduce it exactly.
  return record(y, {x}, "dropout", [=](const Tensor& dy, const NeedsGrad&) -> std::vector<Tensor> {
    Tensor dx = Tensor::empty_like(dy);
    visit_float_dtype(dy.dtype(), "dropout backward", [&]<class T>() {
      FF_RUN_KERNEL(dy.device(), dropout_apply<T>, dy.data<T>(), dx.data<T>(), dy.numel(), seed, offset, rate);
    });
    return {dx};
  });
}

}  // namespace ff
