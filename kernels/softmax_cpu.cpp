#include <cmath>
#include <utility>

#include "kernels/instantiate.h"
#include "kernels/softmax.h"

namespace ff::cpu {

namespace {

// A row's maximum and sum of exp(x - max), the sum in double; each exponential is also stored in `exps`
// when given (softmax reuses them). Shifted by the maximum, every exponential is in (0, 1] and the sum in
// [1, n]: its logarithm is finite however far apart the logits are, where log(softmax(x)) would take
// log(0) of an underflowed entry.
template <class T>
std::pair<T, double> row_max_and_sum(const T* xr, int64_t n, T* exps = nullptr) {
  T max_value = xr[0];
  for (int64_t j = 1; j < n; ++j) max_value = xr[j] > max_value ? xr[j] : max_value;
  double total = 0;
  for (int64_t j = 0; j < n; ++j) {
    const T e = std::exp(xr[j] - max_value);
    if (exps) exps[j] = e;
    total += double(e);
  }
  return {max_value, total};
}

}  // namespace

template <class T>
void softmax_forward(int64_t rows, int64_t n, const T* x, T* y) {
#pragma omp parallel for if (rows * n > (1 << 15))
  for (int64_t r = 0; r < rows; ++r) {
    T* yr = y + r * n;
    const double total = row_max_and_sum(x + r * n, n, yr).second;
    const T inverse = T(1.0 / total);
    for (int64_t j = 0; j < n; ++j) yr[j] *= inverse;
  }
}

template <class T>
void softmax_backward(int64_t rows, int64_t n, const T* y, const T* dy, T* dx) {
#pragma omp parallel for if (rows * n > (1 << 15))
  for (int64_t r = 0; r < rows; ++r) {
    const T *yr = y + r * n, *dyr = dy + r * n;
    double dot = 0;
    for (int64_t j = 0; j < n; ++j) dot += double(dyr[j]) * double(yr[j]);
    for (int64_t j = 0; j < n; ++j) dx[r * n + j] = yr[j] * (dyr[j] - T(dot));
  }
}

template <class T>
void log_softmax_forward(int64_t rows, int64_t n, const T* x, T* y) {
#pragma omp parallel for if (rows * n > (1 << 15))
  for (int64_t r = 0; r < rows; ++r) {
    const auto [max_value, total] = row_max_and_sum(x + r * n, n);
    const T log_total = T(std::log(total));
    for (int64_t j = 0; j < n; ++j) y[r * n + j] = (x[r * n + j] - max_value) - log_total;
  }
}

template <class T>
void log_softmax_backward(int64_t rows, int64_t n, const T* y, const T* dy, T* dx) {
#pragma omp parallel for if (rows * n > (1 << 15))
  for (int64_t r = 0; r < rows; ++r) {
    const T *yr = y + r * n, *dyr = dy + r * n;
    double total = 0;
    for (int64_t j = 0; j < n; ++j) total += double(dyr[j]);
    for (int64_t j = 0; j < n; ++j) dx[r * n + j] = dyr[j] - std::exp(yr[j]) * T(total);
  }
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_SOFTMAX)

}  // namespace ff::cpu
