// Optimizer updates over a list of float32 parameter tensors, TensorFlow 1.x semantics (the original
// NeXtVLAD code trains with tf.train.AdamOptimizer).
//
// Every tensor's gradient is first preprocessed, per tensor:
//   g  = grad + l2 * param                              (gradient of l2/2 * sum(param^2), TF's l2_loss;
//                                                        l2 = 0 for tensors that are not regularized)
//   g *= clip_norm / max(||g||_2, clip_norm)            (tf.clip_by_norm, when clip_norm > 0; the norm is
//                                                        taken over this tensor only, after the l2 term)
// then updated with
//   Adam (tf.train.AdamOptimizer, step t counted from 1):
//     m = beta1 * m + (1 - beta1) * g
//     v = beta2 * v + (1 - beta2) * g^2
//     param -= lr_t * m / (sqrt(v) + epsilon),   lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
//   Momentum (tf.train.MomentumOptimizer, no Nesterov):
//     accumulator = momentum * accumulator + g
//     param -= lr * accumulator
//
// CUDA runs the whole list in a fixed handful of launches whatever the number of tensors (sum of squares
// per chunk, per-tensor clip scale summed in a fixed order so runs are reproducible, update); the CPU
// reference loops over the tensors and applies exactly the same math.
#pragma once
#include <cmath>
#include <memory>

#include "kernels/common.h"

namespace ff {

struct AdamTensor {
  float* param;
  const float* grad;
  float* m;
  float* v;
  int64_t n;
  float l2;  // 0: not regularized
};

struct MomentumTensor {
  float* param;
  const float* grad;
  float* accumulator;
  int64_t n;
  float l2;
};

struct AdamHyperParameters {
  float learning_rate;  // lr_t: already bias-corrected for this step (adam_corrected_learning_rate)
  float beta1;
  float beta2;
  float epsilon;
  float clip_norm;  // <= 0: no clipping
};

struct MomentumHyperParameters {
  float learning_rate;
  float momentum;
  float clip_norm;  // <= 0: no clipping
};

// lr_t of step t (t >= 1), computed in double so that CPU and GPU receive the same float.
inline float adam_corrected_learning_rate(double learning_rate, double beta1, double beta2, int64_t step) {
  double t = double(step);
  return float(learning_rate * std::sqrt(1.0 - std::pow(beta2, t)) / (1.0 - std::pow(beta1, t)));
}

// The factor tf.clip_by_norm applies, from the tensor's sum of squares. Written as a comparison rather
// than fmax so that a NaN norm gives factor 1 (the NaN stays in the gradient) on both backends alike.
FF_HD float clip_scale(double sum_of_squares, float clip_norm) {
  if (!(clip_norm > 0.0f)) return 1.0f;
  double norm = sqrt(sum_of_squares);
  return norm > double(clip_norm) ? float(double(clip_norm) / norm) : 1.0f;
}

// The preprocessed gradient of one element, before the clip factor.
FF_HD float regularized_gradient(float grad, float param, float l2) { return grad + l2 * param; }

// One element of the updates above; g is the preprocessed (regularized and clipped) gradient.
FF_HD void adam_update_element(float& param, float& m, float& v, float g, const AdamHyperParameters& h) {
  m = h.beta1 * m + (1.0f - h.beta1) * g;
  v = h.beta2 * v + (1.0f - h.beta2) * (g * g);
  param -= h.learning_rate * m / (sqrtf(v) + h.epsilon);
}

FF_HD void momentum_update_element(float& param, float& accumulator, float g, const MomentumHyperParameters& h) {
  accumulator = h.momentum * accumulator + g;
  param -= h.learning_rate * accumulator;
}

// What a backend keeps between steps for one optimizer: on CUDA the chunk table and scratch in device
// memory, rebuilt only when the tensor list (pointers, sizes, l2) changes; the CPU keeps nothing.
struct MultiTensorWorkspace {
  std::shared_ptr<void> state;
};

}  // namespace ff

#define FF_OPTIMIZER_KERNELS                                                                             \
  /* Preprocesses and updates every tensor of the list (see the top of this file). All pointers live  */ \
  /* on this backend's device; tensors with n == 0 are allowed.                                        */ \
  void adam_update(const ::ff::AdamTensor* tensors, int64_t count, const ::ff::AdamHyperParameters& hyper, \
                   ::ff::MultiTensorWorkspace& workspace);                                                 \
  void momentum_update(const ::ff::MomentumTensor* tensors, int64_t count,                                 \
                       const ::ff::MomentumHyperParameters& hyper, ::ff::MultiTensorWorkspace& workspace);

// float32 only: optimizer state and parameters are trained in float32, so no instantiation list.
namespace ff::cpu {
FF_OPTIMIZER_KERNELS
}
namespace ff::cuda {
FF_OPTIMIZER_KERNELS
}
