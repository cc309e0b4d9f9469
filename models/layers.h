// Parameter registration and initialisation shared by the NeXtVLAD block and its head.
//
// Initialisation follows the TF model: tensors it creates with slim.variance_scaling_initializer (the
// expansion FC, the cluster weights and the cluster centres) and the group-attention FC are drawn from
// N(0, 2 / fan_in) (He; TF truncates at two standard deviations, we do not); the head's fully connected
// layers (slim.fully_connected's default) are Glorot uniform, U(-a, a) with a = sqrt(6 / (fan_in + fan_out)).
// Biases and BN beta start at 0, BN gamma at 1, running mean 0 and running variance 1.
#pragma once
#include <cstdint>
#include <string>

#include "engine/ops.h"
#include "engine/parameters.h"
#include "engine/tensor.h"

namespace ff {

struct ModelInit {
  ParameterSet& parameters;
  Generator& generator;
  DType dtype;
  Device device;
  // Prepended to every name registered through this ModelInit: "branch1." for a branch of an ensemble, so
  // that the blocks and the head keep their own names and need not know they are one of several.
  std::string scope = {};

  // Registers `value` (or a buffer: saved, not trained) under scope + name.
  Tensor add(const std::string& name, Tensor value, bool l2_regularized = false);
  Tensor add_buffer(const std::string& name, Tensor value);

  Tensor he_normal(const std::string& name, const Shape& shape, int64_t fan_in, bool l2_regularized = false);
  Tensor glorot_uniform(const std::string& name, const Shape& shape, int64_t fan_in, int64_t fan_out,
                        bool l2_regularized = false);
  Tensor zeros(const std::string& name, const Shape& shape, bool l2_regularized = false);
};

// Batch norm with learned scale and centre over [rows, channels]: "<prefix>.weight" (gamma),
// "<prefix>.bias" (beta) and the buffers "<prefix>.running_mean", "<prefix>.running_var".
class BatchNormLayer {
 public:
  BatchNormLayer() = default;
  BatchNormLayer(const std::string& prefix, int64_t channels, ModelInit& init);
  Tensor forward(const Tensor& x, bool training, const BatchNormOptions& options,
                 const Tensor& row_mask = Tensor()) const;
  static int64_t parameter_count(int64_t channels) { return 2 * channels; }

  // The tensors themselves, for fused ops that apply this batch norm inside a larger kernel.
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  const Tensor& running_mean() const { return running_mean_; }
  const Tensor& running_var() const { return running_var_; }

 private:
  Tensor weight_, bias_, running_mean_, running_var_;
};

// x [rows, in] times weight [out, in] (the PyTorch layout), transposed.
Tensor linear(const Tensor& x, const Tensor& weight);

}  // namespace ff
