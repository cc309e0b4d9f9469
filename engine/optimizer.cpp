#include "engine/optimizer.h"

#include <cmath>
#include <optional>
#include <stdexcept>

#include "engine/dispatch.h"

namespace ff {
namespace {

void check_option(bool valid, const std::string& optimizer, const std::string& option, double value,
                  const char* requirement) {
  if (!valid)
    throw std::invalid_argument(optimizer + " optimizer: " + option + " = " + std::to_string(value) + " must be " +
                                requirement);
}

void check_preprocessing(const GradientPreprocessing& p, const std::string& optimizer) {
  check_option(std::isfinite(p.l2) && p.l2 >= 0.0f, optimizer, "l2", p.l2, "finite and >= 0");
  check_option(!std::isnan(p.clip_norm), optimizer, "clip_norm", p.clip_norm, "a number (<= 0 turns clipping off)");
}

}  // namespace

Optimizer::Optimizer(ParameterSet& parameters, GradientPreprocessing preprocessing, std::string kind,
                     std::vector<std::string> slot_suffixes)
    : parameters_(parameters),
      preprocessing_(preprocessing),
      kind_(std::move(kind)),
      slot_suffixes_(std::move(slot_suffixes)) {
  check_preprocessing(preprocessing_, kind_);
  ensure_slots();
}

std::string Optimizer::slot_name(const std::string& parameter, const std::string& suffix) const {
  return parameter + "." + suffix;
}

void Optimizer::ensure_slots() const {
  for (const Parameter& p : parameters_.all()) {
    if (!p.trainable) continue;
    if (p.value.dtype() != DType::Float32)
      throw std::invalid_argument(kind_ + " optimizer: parameter \"" + p.name + "\" is " + p.value.str() +
                                  "; optimizers update float32 parameters");
    std::vector<Tensor>& slots = slots_[p.name];
    if (slots.empty()) {
      for (const std::string& suffix : slot_suffixes_) {
        Tensor slot = Tensor::zeros_like(p.value);
        slot.set_name(slot_name(p.name, suffix));
        slots.push_back(slot);
      }
      continue;
    }
    for (Tensor& slot : slots) {
      if (slot.shape() != p.value.shape())
        throw std::runtime_error(kind_ + " optimizer: parameter \"" + p.name + "\" is now " + p.value.str() +
                                 " but its state \"" + slot.name() + "\" was made for " + slot.str());
      // The model moved to another device after the optimizer was made: its state follows.
      if (slot.device() != p.value.device()) {
        std::string name = slot.name();
        slot = slot.to(p.value.device());
        slot.set_name(name);
      }
    }
  }
}

std::vector<Tensor>& Optimizer::slots_of(const Parameter& parameter) const { return slots_.at(parameter.name); }

void Optimizer::step(double learning_rate) {
  if (!std::isfinite(learning_rate) || learning_rate < 0)
    throw std::invalid_argument(kind_ + " optimizer: learning rate " + std::to_string(learning_rate) +
                                " must be finite and >= 0");
  ensure_slots();
  std::vector<Target> cpu_targets, cuda_targets;
  std::optional<Device> cuda_device;
  for (const Parameter& p : parameters_.all()) {
    if (!p.trainable) continue;
    Tensor grad = p.value.grad();
    // Not part of this step's loss: skipped, its slots stay as they are (see the header).
    if (!grad.defined()) continue;
    if (grad.shape() != p.value.shape() || grad.dtype() != DType::Float32 || grad.device() != p.value.device())
      throw std::invalid_argument(kind_ + " optimizer: gradient " + grad.str() + " of parameter \"" + p.name +
                                  "\" does not match the parameter " + p.value.str());
    Target target{p.value.data<float>(), grad.data<float>(), {}, p.value.numel(),
                  p.l2_regularized ? preprocessing_.l2 : 0.0f};
    for (const Tensor& slot : slots_of(p)) target.slots.push_back(slot.data<float>());
    if (p.value.is_cuda()) {
      if (cuda_device && *cuda_device != p.value.device())
        throw std::invalid_argument(kind_ + " optimizer: parameters on " + cuda_device->str() + " and " +
                                    p.value.device().str() + "; one optimizer updates one GPU");
      cuda_device = p.value.device();
      cuda_targets.push_back(std::move(target));
    } else {
      cpu_targets.push_back(std::move(target));
    }
  }
  ++step_;
  if (!cpu_targets.empty()) update(cpu_targets, Device::cpu(), learning_rate, cpu_workspace_);
  if (!cuda_targets.empty()) update(cuda_targets, *cuda_device, learning_rate, cuda_workspace_);
}

NamedTensors Optimizer::state() const {
  ensure_slots();
  NamedTensors state;
  for (const Parameter& p : parameters_.all()) {
    if (!p.trainable) continue;
    const std::vector<Tensor>& slots = slots_of(p);
    for (size_t i = 0; i < slots.size(); ++i) state.emplace_back(slot_name(p.name, slot_suffixes_[i]), slots[i]);
  }
  state.emplace_back(step_name(), Tensor::from_vector<int64_t>({step_}, Shape{}));
  return state;
}

void Optimizer::load_state(const TensorLookup& lookup) {
  ensure_slots();
  const std::string context = kind_ + " optimizer state: ";
  // Everything is checked before anything is copied, so a bad checkpoint leaves the optimizer as it was.
  std::vector<std::pair<Tensor*, Tensor>> copies;
  for (const Parameter& p : parameters_.all()) {
    if (!p.trainable) continue;
    std::vector<Tensor>& slots = slots_of(p);
    for (size_t i = 0; i < slots.size(); ++i) {
      std::string name = slot_name(p.name, slot_suffixes_[i]);
      Tensor source = lookup(name);
      if (!source.defined()) throw std::runtime_error(context + "\"" + name + "\" is missing");
      if (source.shape() != slots[i].shape() || source.dtype() != DType::Float32)
        throw std::runtime_error(context + "\"" + name + "\" is " + dtype_name(source.dtype()) +
                                 shape_str(source.shape()) + ", parameter \"" + p.name + "\" needs float32" +
                                 shape_str(slots[i].shape()));
      copies.emplace_back(&slots[i], source);
    }
  }
  Tensor step = lookup(step_name());
  if (!step.defined()) throw std::runtime_error(context + "\"" + step_name() + "\" is missing");
  if (step.numel() != 1)
    throw std::runtime_error(context + "\"" + step_name() + "\" has shape " + shape_str(step.shape()) +
                             ", expected one element");
  double count = step.item();
  if (!(count >= 0) || count != std::floor(count) || count > 9.0e15)
    throw std::runtime_error(context + "\"" + step_name() + "\" = " + std::to_string(count) +
                             " is not a step count");
  for (auto& [slot, source] : copies) slot->copy_from(source);
  step_ = int64_t(count);
}

void Optimizer::load_state(const std::map<std::string, Tensor>& tensors) {
  load_state([&](const std::string& name) {
    auto found = tensors.find(name);
    return found == tensors.end() ? Tensor() : found->second;
  });
}

AdamOptimizer::AdamOptimizer(ParameterSet& parameters, AdamOptions options)
    : Optimizer(parameters, options.preprocessing, "adam", {"adam_m", "adam_v"}), options_(options) {
  check_option(options.beta1 >= 0.0f && options.beta1 < 1.0f, "adam", "beta1", options.beta1, "in [0, 1)");
  check_option(options.beta2 >= 0.0f && options.beta2 < 1.0f, "adam", "beta2", options.beta2, "in [0, 1)");
  check_option(std::isfinite(options.epsilon) && options.epsilon >= 0.0f, "adam", "epsilon", options.epsilon,
               "finite and >= 0");
}

void AdamOptimizer::update(const std::vector<Target>& targets, Device device, double learning_rate,
                           MultiTensorWorkspace& workspace) {
  const AdamHyperParameters hyper{
      adam_corrected_learning_rate(learning_rate, options_.beta1, options_.beta2, step_count()), options_.beta1,
      options_.beta2, options_.epsilon, preprocessing().clip_norm};
  std::vector<AdamTensor> tensors;
  tensors.reserve(targets.size());
  for (const Target& t : targets) tensors.push_back(AdamTensor{t.param, t.grad, t.slots[0], t.slots[1], t.n, t.l2});
  FF_RUN_KERNEL(device, adam_update, tensors.data(), int64_t(tensors.size()), hyper, workspace);
}

MomentumOptimizer::MomentumOptimizer(ParameterSet& parameters, MomentumOptions options)
    : Optimizer(parameters, options.preprocessing, "momentum", {"momentum"}), options_(options) {
  check_option(std::isfinite(options.momentum) && options.momentum >= 0.0f, "momentum", "momentum",
               options.momentum, "finite and >= 0");
}

void MomentumOptimizer::update(const std::vector<Target>& targets, Device device, double learning_rate,
                               MultiTensorWorkspace& workspace) {
  const MomentumHyperParameters hyper{float(learning_rate), options_.momentum, preprocessing().clip_norm};
  std::vector<MomentumTensor> tensors;
  tensors.reserve(targets.size());
  for (const Target& t : targets) tensors.push_back(MomentumTensor{t.param, t.grad, t.slots[0], t.n, t.l2});
  FF_RUN_KERNEL(device, momentum_update, tensors.data(), int64_t(tensors.size()), hyper, workspace);
}

}  // namespace ff
