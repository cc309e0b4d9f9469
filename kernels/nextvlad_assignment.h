// The NeXtVLAD soft assignment in one pass (shared/reference/paper-and-nextvlad.md §2.1 steps 2-4), from
// the cluster logits z [rows, G*K] (row = frame, channel c = g*K + k, the layout of the cluster-logit GEMM)
// and the group-attention logits l [rows, G] (before the sigmoid):
//
//   y[r, c]      = (z[r, c] - mean[c]) * rstd[c] * gamma[c] + beta[c]      the cluster batch norm
//   p[r, g, k]   = softmax over k of y[r, g*K + k]                         soft assignment per group
//   out[r, g, k] = p[r, g, k] * sigmoid(l[r, g]) * frame_mask[r]           group attention, padding zeroed
//
// The batch-norm statistics (mean, rstd; batch or running) come from kernels/batch_norm.h: the fused
// kernels take them as inputs, so the cluster BN keeps one implementation of its statistics.
//
// Backward, with s = sigmoid(l[r, g]), a = s * frame_mask[r] and dot[r, g] = sum_k dout[r, g, k] * p[r, g, k]:
//
//   dl[r, g] = dot * frame_mask[r] * s * (1 - s)
//   dy[r, c] = a * p * (dout - dot)                                        softmax and attention together
//   dz[r, c] = batch_norm_input_gradient(dy, ...)                          with sum_dy, sum_dy_xhat over rows
//
// p is recomputed from z in the backward rather than saved: reading z again costs what reading a saved p
// would, and the forward then writes one tensor instead of two. The backward is two passes in training: the
// first only sums dy and dy * xhat per channel (which are also the gradients of beta and gamma), the second
// writes dz and dl; in inference the first is needed only for the gamma and beta gradients.
#pragma once
#include "kernels/batch_norm.h"
#include "kernels/common.h"
#include "kernels/elementwise.h"

namespace ff {

// The operands both passes read. gamma and beta may be null (scale 1, centre 0).
template <class T>
struct NeXtVladAssignmentInputs {
  const T* logits = nullptr;            // z [rows, groups * clusters]
  const T* attention_logits = nullptr;  // l [rows, groups]
  const T* frame_mask = nullptr;        // [rows], 1 for real frames, 0 for padding
  const T* mean = nullptr;              // [groups * clusters]
  const T* rstd = nullptr;              // [groups * clusters]
  const T* gamma = nullptr;
  const T* beta = nullptr;
  int64_t rows = 0, groups = 0, clusters = 0;
  FF_HD int64_t channels() const { return groups * clusters; }
};

// y of one element: the batch-normalised logit, as batch_norm_forward computes it.
template <class T>
FF_HD T nextvlad_assignment_logit(const NeXtVladAssignmentInputs<T>& in, int64_t row, int64_t channel) {
  return batch_norm_value(in.logits[row * in.channels() + channel], in.mean[channel], in.rstd[channel], in.gamma,
                          in.beta, channel);
}

// sigmoid(l[r, g]): the same expression as the sigmoid op.
template <class T>
FF_HD T nextvlad_group_attention(const NeXtVladAssignmentInputs<T>& in, int64_t row, int64_t group) {
  return unary_value(UnaryOp::Sigmoid, in.attention_logits[row * in.groups + group], T(0));
}

}  // namespace ff

#define FF_NEXTVLAD_ASSIGNMENT_KERNELS                                                                        \
  /* out [rows, groups * clusters] as above. */                                                               \
  template <class T>                                                                                          \
  void nextvlad_assignment_forward(const ::ff::NeXtVladAssignmentInputs<T>& in, T* out);                      \
  /* Over all rows: sum_dy[c] = sum_r dy[r, c], sum_dy_xhat[c] = sum_r dy[r, c] * xhat[r, c] (the gradients */ \
  /* of beta and gamma), dy as above. */                                                                      \
  template <class T>                                                                                          \
  void nextvlad_assignment_backward_sums(const ::ff::NeXtVladAssignmentInputs<T>& in, const T* dout, T* sum_dy, \
                                         T* sum_dy_xhat);                                                     \
  /* dlogits [rows, G*K] and dattention_logits [rows, G]; either may be null (not computed). */               \
  /* statistics_mask, count, sum_dy, sum_dy_xhat as batch_norm_backward_input's row_mask, count, ...: */      \
  /* count null means inference (the statistics were constants). */                                          \
  template <class T>                                                                                          \
  void nextvlad_assignment_backward(const ::ff::NeXtVladAssignmentInputs<T>& in, const T* dout,               \
                                    const T* statistics_mask, const T* count, const T* sum_dy,                \
                                    const T* sum_dy_xhat, T* dlogits, T* dattention_logits);

namespace ff::cpu {
FF_NEXTVLAD_ASSIGNMENT_KERNELS
}
namespace ff::cuda {
FF_NEXTVLAD_ASSIGNMENT_KERNELS
}

// Both backends instantiate exactly this list.
#define FF_INSTANTIATE_NEXTVLAD_ASSIGNMENT(T)                                                                  \
  template void nextvlad_assignment_forward<T>(const ::ff::NeXtVladAssignmentInputs<T>&, T*);                 \
  template void nextvlad_assignment_backward_sums<T>(const ::ff::NeXtVladAssignmentInputs<T>&, const T*, T*,  \
                                                     T*);                                                     \
  template void nextvlad_assignment_backward<T>(const ::ff::NeXtVladAssignmentInputs<T>&, const T*, const T*, \
                                                const T*, const T*, const T*, T*, T*);
