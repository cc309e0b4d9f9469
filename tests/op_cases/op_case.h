// One catalogue of op test cases (ggml's test-backend-ops is the model): each case names its inputs and
// builds the op's output from them. The CPU suite checks every case by central finite differences in
// float64; the GPU suite runs every case on CUDA and compares output and gradients with the CPU.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace ff::test {

enum class InputKind {
  Normal,    // N(0, 1), differentiable
  Positive,  // U(0.5, 2), differentiable (denominators, logarithms)
  Unit,      // U(0, 1), differentiable (labels, probabilities)
  Mask,      // 0/1 floats, not differentiable
  Indices,   // int32 in [0, index_range), not differentiable
  Constant,  // N(0, 1), not differentiable (inputs an op treats as constants: a frozen teacher's outputs)
};

struct InputSpec {
  Shape shape;
  InputKind kind = InputKind::Normal;
  int64_t index_range = 0;  // Indices only
  bool differentiable() const { return kind == InputKind::Normal || kind == InputKind::Positive || kind == InputKind::Unit; }
};

struct OpCase {
  std::string name;
  std::vector<InputSpec> inputs;
  // Must be deterministic: stateful ops (dropout, batch norm) create their generator or buffers inside.
  std::function<Tensor(const std::vector<Tensor>&)> build;
  // Ops with kinks (relu) keep inputs away from them: |x| >= kink_margin for Normal inputs.
  double kink_margin = 0;
};

std::vector<OpCase>& op_cases();

struct RegisterOpCase {
  explicit RegisterOpCase(OpCase c) { op_cases().push_back(std::move(c)); }
};

// Inputs for a case on a device and dtype, drawn from a seeded Philox stream (same values everywhere).
std::vector<Tensor> make_inputs(const OpCase& c, DType dtype, Device device, uint64_t seed);

}  // namespace ff::test
