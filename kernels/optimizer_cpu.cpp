#include "kernels/optimizer.h"

namespace ff::cpu {
namespace {

constexpr int64_t kParallelThreshold = 1 << 15;

// sum_i (grad_i + l2 * param_i)^2, accumulated in double like the other CPU reductions.
double regularized_sum_of_squares(const float* grad, const float* param, float l2, int64_t n) {
  double acc = 0;
#pragma omp parallel for reduction(+ : acc) if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) {
    double g = double(regularized_gradient(grad[i], param[i], l2));
    acc += g * g;
  }
  return acc;
}

// The clip factor of one tensor; the norm pass is skipped when clipping is off.
float tensor_clip_scale(const float* grad, const float* param, float l2, int64_t n, float clip_norm) {
  if (!(clip_norm > 0.0f)) return 1.0f;
  return clip_scale(regularized_sum_of_squares(grad, param, l2, n), clip_norm);
}

void adam_update_tensor(const AdamTensor& t, const AdamHyperParameters& h) {
  float scale = tensor_clip_scale(t.grad, t.param, t.l2, t.n, h.clip_norm);
#pragma omp parallel for if (t.n > kParallelThreshold)
  for (int64_t i = 0; i < t.n; ++i) {
    float g = regularized_gradient(t.grad[i], t.param[i], t.l2) * scale;
    adam_update_element(t.param[i], t.m[i], t.v[i], g, h);
  }
}

void momentum_update_tensor(const MomentumTensor& t, const MomentumHyperParameters& h) {
  float scale = tensor_clip_scale(t.grad, t.param, t.l2, t.n, h.clip_norm);
#pragma omp parallel for if (t.n > kParallelThreshold)
  for (int64_t i = 0; i < t.n; ++i) {
    float g = regularized_gradient(t.grad[i], t.param[i], t.l2) * scale;
    momentum_update_element(t.param[i], t.accumulator[i], g, h);
  }
}

}  // namespace

void adam_update(const AdamTensor* tensors, int64_t count, const AdamHyperParameters& hyper,
                 MultiTensorWorkspace& workspace) {
  for (int64_t i = 0; i < count; ++i) adam_update_tensor(tensors[i], hyper);
}

void momentum_update(const MomentumTensor* tensors, int64_t count, const MomentumHyperParameters& hyper,
                     MultiTensorWorkspace& workspace) {
  for (int64_t i = 0; i < count; ++i) momentum_update_tensor(tensors[i], hyper);
}

}  // namespace ff::cpu
