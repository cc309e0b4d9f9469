// What the CUDA suites share to hold a kernel to its CPU reference: allocations poisoned with NaN while a
// test runs, so an element a kernel forgets to write fails the comparison; inputs copied so the two devices
// share no storage; and a normwise comparison that a NaN never passes.
#pragma once
#include <catch2/catch.hpp>

#include "engine/device.h"
#include "engine/tensor.h"
#include "op_cases/gradient_check.h"

namespace ff::test {

constexpr double kFloat32Tolerance = 1e-5;

class PoisonAllocations {
 public:
  PoisonAllocations() { set_poison_allocations(true); }
  ~PoisonAllocations() { set_poison_allocations(false); }
};

// A copy of t on `device` that shares nothing with t (Tensor::to returns t itself on its own device).
inline Tensor fresh_copy(const Tensor& t, Device device, bool requires_grad = false) {
  if (!t.defined()) return Tensor();
  Tensor copy = t.device() == device ? t.clone() : t.to(device);
  if (requires_grad) copy.set_requires_grad(true);
  return copy;
}

inline void check_close(const char* what, const Tensor& gpu, const Tensor& cpu, double tolerance) {
  double error = relative_error(gpu, cpu);
  INFO(what << " relative error " << error);
  CHECK(error < tolerance);  // NaN fails
}

}  // namespace ff::test
