#include "engine/parameters.h"

#include <stdexcept>

namespace ff {

Parameter& ParameterSet::insert(const std::string& name, Tensor value) {
  if (name.empty()) throw std::invalid_argument("parameter without a name");
  if (!value.defined()) throw std::invalid_argument("parameter \"" + name + "\" is undefined");
  if (find(name)) throw std::invalid_argument("parameter \"" + name + "\" registered twice");
  value.set_name(name);
  parameters_.push_back(Parameter{name, value});
  return parameters_.back();
}

Tensor ParameterSet::add(const std::string& name, Tensor value, bool l2_regularized) {
  Parameter& p = insert(name, value);
  p.value.set_requires_grad(true);
  p.l2_regularized = l2_regularized;
  return p.value;
}

Tensor ParameterSet::add_buffer(const std::string& name, Tensor value) {
  Parameter& p = insert(name, value);
  p.trainable = false;
  return p.value;
}

const Parameter* ParameterSet::find(const std::string& name) const {
  for (const Parameter& p : parameters_)
    if (p.name == name) return &p;
  return nullptr;
}

int64_t ParameterSet::trainable_count() const {
  int64_t n = 0;
  for (const Parameter& p : parameters_)
    if (p.trainable) n += p.value.numel();
  return n;
}

void ParameterSet::zero_grad() {
  for (Parameter& p : parameters_) p.value.zero_grad();
}

}  // namespace ff
