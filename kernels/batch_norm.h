// Batch normalisation over the rows of x [rows, channels] (row-major): statistics per channel, the
// normalisation itself, the running-average update and the backward pass.
//
// Counted rows are those whose row_mask is non-zero (every row when row_mask is null). With n counted
// rows, mean and the biased variance are taken over them; every row, counted or not, is normalised with
// those statistics. With n == 0 the statistics are mean 0 and variance 0 (nothing to average), so the
// output stays finite.
#pragma once
#include "kernels/common.h"

namespace ff {

// The per-element formulas, shared by both backends so that they compute the same expression.
template <class T>
FF_HD T batch_norm_value(T x, T mean, T rstd, const T* gamma, const T* beta, int64_t channel) {
  T y = (x - mean) * rstd;
  if (gamma) y *= gamma[channel];
  if (beta) y += beta[channel];
  return y;
}

// d(loss)/dx for one element; `count` null means inference (the statistics are constants).
template <class T>
FF_HD T batch_norm_input_gradient(T dy, T x, T mean, T rstd, const T* gamma, const T* row_mask, const T* count,
                                  T sum_dy, T sum_dy_xhat, int64_t row, int64_t channel) {
  T scale = gamma ? rstd * gamma[channel] : rstd;
  if (!count) return scale * dy;
  bool counted = !row_mask || row_mask[row] != T(0);
  if (!counted || count[0] == T(0)) return scale * dy;
  T xhat = (x - mean) * rstd;
  return scale * (dy - (sum_dy + xhat * sum_dy_xhat) / count[0]);
}

}  // namespace ff

#define FF_BATCH_NORM_KERNELS                                                                                 \
  /* Training statistics per channel: mean, biased variance, rstd = 1 / sqrt(variance + epsilon), and */     \
  /* count[0] = n, the number of counted rows. */                                                             \
  template <class T>                                                                                          \
  void batch_norm_statistics(const T* x, const T* row_mask, int64_t rows, int64_t channels, T epsilon, T* mean, \
                             T* variance, T* rstd, T* count);                                                 \
  /* rstd[c] = 1 / sqrt(variance[c] + epsilon): inference with the running variance */                       \
  template <class T>                                                                                          \
  void batch_norm_inverse_std(const T* variance, int64_t channels, T epsilon, T* rstd);                       \
  /* running = momentum * running + (1 - momentum) * batch, for the mean and the variance */                  \
  template <class T>                                                                                          \
  void batch_norm_update_running(const T* mean, const T* variance, int64_t channels, T momentum, T* running_mean, \
                                 T* running_var);                                                             \
  /* y = (x - mean) * rstd * gamma + beta; gamma and beta may be null (1 and 0) */                            \
  template <class T>                                                                                          \
  void batch_norm_forward(const T* x, const T* mean, const T* rstd, const T* gamma, const T* beta, int64_t rows, \
                          int64_t channels, T* y);                                                            \
  /* Over all rows: sum_dy[c] = sum_i dy[i, c], sum_dy_xhat[c] = sum_i dy[i, c] * xhat[i, c], which are */    \
  /* also the gradients of beta and gamma. */                                                                 \
  template <class T>                                                                                          \
  void batch_norm_backward_sums(const T* dy, const T* x, const T* mean, const T* rstd, int64_t rows,          \
                                int64_t channels, T* sum_dy, T* sum_dy_xhat);                                 \
  /* dx. Inference (count null): rstd * gamma * dy. Training, with m_i the mask and n = count[0]: */         \
  /* rstd * gamma * (dy_i - m_i / n * (sum_dy + xhat_i * sum_dy_xhat)). gamma and row_mask may be null. */   \
  template <class T>                                                                                          \
  void batch_norm_backward_input(const T* dy, const T* x, const T* mean, const T* rstd, const T* gamma,       \
                                 const T* row_mask, const T* count, const T* sum_dy, const T* sum_dy_xhat,    \
                                 int64_t rows, int64_t channels, T* dx);

namespace ff::cpu {
FF_BATCH_NORM_KERNELS
}
namespace ff::cuda {
FF_BATCH_NORM_KERNELS
}

// Both backends instantiate exactly this list.
#define FF_INSTANTIATE_BATCH_NORM(T)                                                                           \
  template void batch_norm_statistics<T>(const T*, const T*, int64_t, int64_t, T, T*, T*, T*, T*);            \
  template void batch_norm_inverse_std<T>(const T*, int64_t, T, T*);                                          \
  template void batch_norm_update_running<T>(const T*, const T*, int64_t, T, T*, T*);                         \
  template void batch_norm_forward<T>(const T*, const T*, const T*, const T*, const T*, int64_t, int64_t, T*); \
  template void batch_norm_backward_sums<T>(const T*, const T*, const T*, const T*, int64_t, int64_t, T*, T*); \
  template void batch_norm_backward_input<T>(const T*, const T*, const T*, const T*, const T*, const T*,      \
                                             const T*, const T*, const T*, int64_t, int64_t, T*);
