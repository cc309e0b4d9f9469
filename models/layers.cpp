#include "models/layers.h"

#include <cmath>

namespace ff {

Tensor ModelInit::he_normal(const std::string& name, const Shape& shape, int64_t fan_in, bool l2_regularized) {
  double stddev = std::sqrt(2.0 / double(fan_in));
  return add(name, Tensor::normal(shape, 0.0, stddev, generator, dtype, device), l2_regularized);
}

Tensor ModelInit::glorot_uniform(const std::string& name, const Shape& shape, int64_t fan_in, int64_t fan_out,
                                 bool l2_regularized) {
  double limit = std::sqrt(6.0 / double(fan_in + fan_out));
  return add(name, Tensor::uniform(shape, -limit, limit, generator, dtype, device), l2_regularized);
}

Tensor ModelInit::zeros(const std::string& name, const Shape& shape, bool l2_regularized) {
  return add(name, Tensor::zeros(shape, dtype, device), l2_regularized);
}

Tensor ModelInit::add(const std::string& name, Tensor value, bool l2_regularized) {
  return parameters.add(scope + name, std::move(value), l2_regularized);
}

Tensor ModelInit::add_buffer(const std::string& name, Tensor value) {
  return parameters.add_buffer(scope + name, std::move(value));
}

BatchNormLayer::BatchNormLayer(const std::string& prefix, int64_t channels, ModelInit& init) {
  weight_ = init.add(prefix + ".weight", Tensor::full({channels}, 1.0, init.dtype, init.device));
  bias_ = init.zeros(prefix + ".bias", {channels});
  running_mean_ = init.add_buffer(prefix + ".running_mean", Tensor::zeros({channels}, init.dtype, init.device));
  running_var_ = init.add_buffer(prefix + ".running_var", Tensor::full({channels}, 1.0, init.dtype, init.device));
}

Tensor BatchNormLayer::forward(const Tensor& x, bool training, const BatchNormOptions& options,
                               const Tensor& row_mask) const {
  return batch_norm(x, weight_, bias_, running_mean_, running_var_, training, row_mask, options);
}

Tensor linear(const Tensor& x, const Tensor& weight) { return matmul(x, weight, false, true); }

}  // namespace ff
