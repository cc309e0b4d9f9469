#include <cmath>
#include <vector>

#include "kernels/batch_norm.h"
#include "kernels/instantiate.h"

namespace ff::cpu {

// The reference sums in double whatever T is, so that it is the more accurate side of a GPU comparison.
// Rows are walked in memory order, each row adding into one accumulator per channel.

template <class T>
void batch_norm_statistics(const T* x, const T* row_mask, int64_t rows, int64_t channels, T epsilon, T* mean,
                           T* variance, T* rstd, T* count) {
  std::vector<double> sum(size_t(channels), 0.0), squares(size_t(channels), 0.0);
  double n = 0;
  for (int64_t r = 0; r < rows; ++r) {
    if (row_mask && row_mask[r] == T(0)) continue;
    n += 1;
    for (int64_t c = 0; c < channels; ++c) sum[size_t(c)] += double(x[r * channels + c]);
  }
  // Two passes (mean first, then squared deviations): no cancellation when |mean| >> stddev.
  for (int64_t c = 0; c < channels; ++c) mean[c] = n > 0 ? T(sum[size_t(c)] / n) : T(0);
  for (int64_t r = 0; r < rows; ++r) {
    if (row_mask && row_mask[r] == T(0)) continue;
    for (int64_t c = 0; c < channels; ++c) {
      double d = double(x[r * channels + c]) - double(mean[c]);
      squares[size_t(c)] += d * d;
    }
  }
  for (int64_t c = 0; c < channels; ++c) {
    variance[c] = n > 0 ? T(squares[size_t(c)] / n) : T(0);
    rstd[c] = T(1) / std::sqrt(variance[c] + epsilon);
  }
  count[0] = T(n);
}

template <class T>
void batch_norm_inverse_std(const T* variance, int64_t channels, T epsilon, T* rstd) {
  for (int64_t c = 0; c < channels; ++c) rstd[c] = T(1) / std::sqrt(variance[c] + epsilon);
}

template <class T>
void batch_norm_update_running(const T* mean, const T* variance, int64_t channels, T momentum, T* running_mean,
                               T* running_var) {
  for (int64_t c = 0; c < channels; ++c) {
    running_mean[c] = momentum * running_mean[c] + (T(1) - momentum) * mean[c];
    running_var[c] = momentum * running_var[c] + (T(1) - momentum) * variance[c];
  }
}

template <class T>
void batch_norm_forward(const T* x, const T* mean, const T* rstd, const T* gamma, const T* beta, int64_t rows,
                        int64_t channels, T* y) {
#pragma omp parallel for if (rows * channels > (1 << 16))
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < channels; ++c) {
      int64_t i = r * channels + c;
      y[i] = batch_norm_value(x[i], mean[c], rstd[c], gamma, beta, c);
    }
}

template <class T>
void batch_norm_backward_sums(const T* dy, const T* x, const T* mean, const T* rstd, int64_t rows, int64_t channels,
                              T* sum_dy, T* sum_dy_xhat) {
  std::vector<double> a(size_t(channels), 0.0), b(size_t(channels), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < channels; ++c) {
      int64_t i = r * channels + c;
      double xhat = (double(x[i]) - double(mean[c])) * double(rstd[c]);
      a[size_t(c)] += double(dy[i]);
      b[size_t(c)] += double(dy[i]) * xhat;
    }
  for (int64_t c = 0; c < channels; ++c) {
    sum_dy[c] = T(a[size_t(c)]);
    sum_dy_xhat[c] = T(b[size_t(c)]);
  }
}

template <class T>
void batch_norm_backward_input(const T* dy, const T* x, const T* mean, const T* rstd, const T* gamma,
                               const T* row_mask, const T* count, const T* sum_dy, const T* sum_dy_xhat, int64_t rows,
                               int64_t channels, T* dx) {
#pragma omp parallel for if (rows * channels > (1 << 16))
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < channels; ++c) {
      int64_t i = r * channels + c;
      dx[i] = batch_norm_input_gradient(dy[i], x[i], mean[c], rstd[c], gamma, row_mask, count,
                                        sum_dy ? sum_dy[c] : T(0), sum_dy_xhat ? sum_dy_xhat[c] : T(0), r, c);
    }
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_BATCH_NORM)

}  // namespace ff::cpu
