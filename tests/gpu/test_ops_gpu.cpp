// Every op in the catalogue on CUDA against the CPU reference: outputs and the gradient of every
// differentiable input, float32 (relative error < 1e-5) and float64, with allocations poisoned with NaN.
#include <catch2/catch.hpp>

#include "engine/device.h"
#include "op_cases/gradient_check.h"
#include "op_cases/op_case.h"

namespace ff::test {
namespace {

struct Run {
  Tensor output;
  std::vector<Tensor> grads;
};

Run run_case(const OpCase& c, DType dtype, Device device, uint64_t seed) {
  std::vector<Tensor> inputs = make_inputs(c, dtype, device, seed);
  Run run;
  run.output = c.build(inputs);
  weighted_objective(run.output, seed).backward();
  for (size_t i = 0; i < inputs.size(); ++i)
    if (c.inputs[i].differentiable()) run.grads.push_back(inputs[i].grad());
  return run;
}

}  // namespace

TEST_CASE("every op on CUDA matches the CPU reference, forward and backward", "[gpu][ops]") {
  set_poison_allocations(true);
  for (DType dtype : {DType::Float32, DType::Float64}) {
    double tolerance = dtype == DType::Float32 ? 1e-5 : 1e-12;
    for (const OpCase& c : op_cases()) {
      for (uint64_t seed : {1u, 7u}) {
        Run cpu = run_case(c, dtype, Device::cpu(), seed);
        Run gpu = run_case(c, dtype, Device::cuda(), seed);
        INFO(c.name << " " << dtype_name(dtype) << " seed " << seed);
        double output_error = relative_error(gpu.output, cpu.output);
        INFO("output relative error " << output_error);
        CHECK(output_error < tolerance);
        REQUIRE(cpu.grads.size() == gpu.grads.size());
        for (size_t i = 0; i < cpu.grads.size(); ++i) {
          double grad_error = relative_error(gpu.grads[i], cpu.grads[i]);
          INFO("gradient " << i << " relative error " << grad_error);
          CHECK(grad_error < tolerance);
        }
      }
    }
  }
  set_poison_allocations(false);
}

}  // namespace ff::test
