// Optimizers over a ParameterSet, with TensorFlow 1.x semantics (the original NeXtVLAD code trains with
// tf.train.AdamOptimizer). One step updates every trainable parameter that has a gradient:
//
//   1. gradient preprocessing, per parameter tensor, in this order:
//        g = grad + l2 * p                     only for parameters with Parameter::l2_regularized: the
//                                              gradient of l2/2 * sum(p^2), TF's l2_loss regularizer
//        g = g * clip / max(||g||_2, clip)     tf.clip_by_norm of this tensor alone, when clip_norm > 0
//   2. the update rule, with t = step_count() counted from 1 at the first step:
//        Adam:      m = b1 * m + (1 - b1) * g
//                   v = b2 * v + (1 - b2) * g^2
//                   lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t)
//                   p -= lr_t * m / (sqrt(v) + eps)          (TF's "epsilon hat" form)
//        Momentum:  accumulator = momentum * accumulator + g
//                   p -= lr * accumulator
//
// A trainable parameter without a gradient this step (Tensor::grad() undefined: it did not take part in
// the loss) is skipped: neither it nor its slots change, as TF does for a None gradient. The step count
// still advances, because it is one count for the whole optimizer (TF's beta powers are global too).
// Buffers (Parameter::trainable == false) are never touched. Parameters must be float32.
//
// The learning rate is an argument of step(), so a schedule (engine/lr_schedule.h) drives it. The state
// (slots per parameter and the step count) is exported as named tensors for checkpoints:
//   "<parameter>.adam_m", "<parameter>.adam_v", "adam.step"       (AdamOptimizer)
//   "<parameter>.momentum", "momentum.step"                      (MomentumOptimizer)
// CUDA parameters are updated by the fused multi-tensor kernels of kernels/optimizer.h (a fixed handful of
// launches for the whole list); CPU parameters by the reference loops.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/parameters.h"
#include "kernels/optimizer.h"

namespace ff {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
// The tensor stored under a name, or an undefined Tensor when there is none.
using TensorLookup = std::function<Tensor(const std::string& name)>;

struct GradientPreprocessing {
  float l2 = 0.0f;         // weight of the l2 term, applied to l2_regularized parameters only
  float clip_norm = 1.0f;  // per-tensor clip_by_norm threshold (the original default); <= 0: no clipping
};

// Holds a reference to its ParameterSet, which must outlive it. Parameters registered after construction
// are picked up at the next step with zero state.
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update with this step's learning rate (finite, >= 0). Throws std::invalid_argument, before
  // changing anything, on a gradient whose shape, dtype or device differs from its parameter's.
  void step(double learning_rate);
  int64_t step_count() const { return step_; }
  const GradientPreprocessing& preprocessing() const { return preprocessing_; }

  // The slots of every trainable parameter in registration order, then the step count (an int64
  // scalar). Slot tensors are the live state, not copies: save them before the next step.
  NamedTensors state() const;
  // Restores what state() exported, from any device. Every slot and the step must be present with the
  // right shape; otherwise std::runtime_error names the missing or mis-shaped entry and nothing changes.
  // Entries the optimizer does not know (the model's own tensors, say) are ignored.
  void load_state(const TensorLookup& lookup);
  void load_state(const std::map<std::string, Tensor>& tensors);

  std::string step_name() const { return kind_ + ".step"; }

 protected:
  // What one parameter contributes to an update: raw pointers for the kernels.
  struct Target {
    float* param;
    const float* grad;
    std::vector<float*> slots;  // in the order of slot_suffixes
    int64_t n;
    float l2;  // 0 unless the parameter is l2_regularized
  };

  Optimizer(ParameterSet& parameters, GradientPreprocessing preprocessing, std::string kind,
            std::vector<std::string> slot_suffixes);

  // Updates the targets, all on `device`, for step step_count() (already advanced).
  virtual void update(const std::vector<Target>& targets, Device device, double learning_rate,
                      MultiTensorWorkspace& workspace) = 0;

 private:
  void ensure_slots() const;
  std::vector<Tensor>& slots_of(const Parameter& parameter) const;
  std::string slot_name(const std::string& parameter, const std::string& suffix) const;

  ParameterSet& parameters_;
  GradientPreprocessing preprocessing_;
  std::string kind_;                        // "adam", "momentum": the prefix of the step's name
  std::vector<std::string> slot_suffixes_;  // "adam_m", "adam_v"
  // Zero slots appear for parameters registered after construction: the same as state never written.
  mutable std::unordered_map<std::string, std::vector<Tensor>> slots_;
  int64_t step_ = 0;
  MultiTensorWorkspace cpu_workspace_, cuda_workspace_;
};

struct AdamOptions {
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float epsilon = 1e-8f;
  GradientPreprocessing preprocessing;
};

class AdamOptimizer : public Optimizer {
 public:
  explicit AdamOptimizer(ParameterSet& parameters, AdamOptions options = {});
  const AdamOptions& options() const { return options_; }

 private:
  void update(const std::vector<Target>& targets, Device device, double learning_rate,
              MultiTensorWorkspace& workspace) override;
  AdamOptions options_;
};

struct MomentumOptions {
  float momentum = 0.9f;
  GradientPreprocessing preprocessing;
};

class MomentumOptimizer : public Optimizer {
 public:
  explicit MomentumOptimizer(ParameterSet& parameters, MomentumOptions options = {});
  const MomentumOptions& options() const { return options_; }

 private:
  void update(const std::vector<Target>& targets, Device device, double learning_rate,
              MultiTensorWorkspace& workspace) override;
  MomentumOptions options_;
};

}  // namespace ff
