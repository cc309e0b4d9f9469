// Argument checks and shape helpers shared by the op implementations.
#pragma once
#include <stdexcept>
#include <string>

#include "engine/tensor.h"
#include "kernels/common.h"

namespace ff::detail {

inline void check_defined(const Tensor& t, const char* op, const char* what) {
  if (!t.defined()) throw std::invalid_argument(std::string(op) + ": " + what + " is undefined");
}

// Same device and dtype for every operand of an op.
inline void check_compatible(const Tensor& a, const Tensor& b, const char* op) {
  check_defined(a, op, "first operand");
  check_defined(b, op, "second operand");
  if (a.device() != b.device() || a.dtype() != b.dtype())
    throw std::invalid_argument(std::string(op) + ": operands " + a.str() + " and " + b.str() +
                                " differ in device or dtype");
}

inline int64_t normalize_axis(int64_t axis, int64_t rank, const char* op) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw std::invalid_argument(std::string(op) + ": axis " + std::to_string(axis) + " out of range for rank " +
                                std::to_string(rank));
  return a;
}

// [outer, n, inner] around `axis`.
inline AxisView axis_view(const Shape& shape, int64_t axis) {
  AxisView v;
  for (int64_t i = 0; i < int64_t(shape.size()); ++i) {
    if (i < axis) v.outer *= shape[size_t(i)];
    else if (i == axis) v.n = shape[size_t(i)];
    else v.inner *= shape[size_t(i)];
  }
  return v;
}

}  // namespace ff::detail
