// Named parameters and buffers of a model. The names (PyTorch style: "video_vlad.cluster_weights")
// become checkpoint keys; the order of registration is the order optimizers and checkpoints use.
#pragma once
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace ff {

struct Parameter {
  std::string name;
  Tensor value;
  bool trainable = true;         // false: a buffer (batch-norm running statistics), saved but not optimised
  bool l2_regularized = false;   // the optimizer adds l2 * value to this parameter's gradient
};

class ParameterSet {
 public:
  // Registers a trainable tensor (sets requires_grad and its name). Throws on a repeated name.
  Tensor add(const std::string& name, Tensor value, bool l2_regularized = false);
  // Registers a buffer: checkpointed, never given gradients.
  Tensor add_buffer(const std::string& name, Tensor value);

  const std::vector<Parameter>& all() const { return parameters_; }
  std::vector<Parameter>& all() { return parameters_; }
  const Parameter* find(const std::string& name) const;
  int64_t trainable_count() const;  // elements in trainable tensors
  void zero_grad();

 private:
  Parameter& insert(const std::string& name, Tensor value);
  std::vector<Parameter> parameters_;
};

}  // namespace ff
