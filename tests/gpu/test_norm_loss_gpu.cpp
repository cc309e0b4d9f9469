// Batch norm, dropout and binary cross-entropy on CUDA against the CPU reference at training sizes (odd
// ones included): outputs, running statistics and gradients, with every allocation poisoned with NaN so
// that an output element a kernel forgets to write fails the comparison.
#include <catch2/catch.hpp>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "gpu/gpu_compare.h"

namespace ff::test {
namespace {

// A 0/1 row mask with about 70% ones and row 0 always counted.
Tensor row_mask(int64_t rows, uint64_t seed, DType dtype) {
  Generator generator(seed);
  std::vector<double> v = Tensor::uniform({rows}, 0, 1, generator, DType::Float64).to_vector<double>();
  for (double& m : v) m = m < 0.7 ? 1.0 : 0.0;
  v[0] = 1.0;
  return Tensor::from_vector(v, {rows}).to(dtype);
}

struct BatchNormInputs {
  Tensor x, gamma, beta, running_mean, running_var, mask;
};

BatchNormInputs batch_norm_inputs(int64_t rows, int64_t channels, bool masked, DType dtype, uint64_t seed) {
  Generator generator(seed);
  BatchNormInputs in;
  // A mean far from 0 relative to the spread, as activations after a ReLU layer have.
  in.x = Tensor::normal({rows, channels}, 3.0, 2.0, generator, dtype);
  in.gamma = Tensor::normal({channels}, 1.0, 0.3, generator, dtype);
  in.beta = Tensor::normal({channels}, 0.0, 1.0, generator, dtype);
  in.running_mean = Tensor::normal({channels}, 0.0, 1.0, generator, dtype);
  in.running_var = Tensor::uniform({channels}, 0.5, 2.0, generator, dtype);
  if (masked) in.mask = row_mask(rows, seed + 1, dtype);
  return in;
}

struct BatchNormRun {
  Tensor y, running_mean, running_var, dx, dgamma, dbeta;
};

BatchNormRun run_batch_norm(const BatchNormInputs& in, bool training, Device device, uint64_t seed) {
  Tensor x = fresh_copy(in.x, device, true), gamma = fresh_copy(in.gamma, device, true),
         beta = fresh_copy(in.beta, device, true);
  BatchNormRun run;
  run.running_mean = fresh_copy(in.running_mean, device);
  run.running_var = fresh_copy(in.running_var, device);
  run.y = batch_norm(x, gamma, beta, run.running_mean, run.running_var, training, fresh_copy(in.mask, device));
  weighted_objective(run.y, seed).backward();
  run.dx = x.grad();
  run.dgamma = gamma.grad();
  run.dbeta = beta.grad();
  return run;
}

}  // namespace

TEST_CASE("batch_norm on CUDA matches the CPU reference at training sizes", "[gpu][batch_norm]") {
  PoisonAllocations poison;
  struct Size {
    int64_t rows, channels;
    bool masked;
  };
  for (Size size : {Size{4800, 1024, true}, Size{4800, 1024, false}, Size{1001, 37, true}, Size{3, 2049, true},
                    Size{70001, 5, true}}) {
    for (bool training : {true, false}) {
      INFO("rows " << size.rows << " channels " << size.channels << " masked " << size.masked << " training "
                   << training);
      BatchNormInputs in = batch_norm_inputs(size.rows, size.channels, size.masked, DType::Float32, 17);
      BatchNormRun cpu = run_batch_norm(in, training, Device::cpu(), 17);
      BatchNormRun gpu = run_batch_norm(in, training, Device::cuda(), 17);
      check_close("y", gpu.y, cpu.y, kFloat32Tolerance);
      check_close("running_mean", gpu.running_mean, cpu.running_mean, kFloat32Tolerance);
      check_close("running_var", gpu.running_var, cpu.running_var, kFloat32Tolerance);
      check_close("dx", gpu.dx, cpu.dx, kFloat32Tolerance);
      check_close("dgamma", gpu.dgamma, cpu.dgamma, kFloat32Tolerance);
      check_close("dbeta", gpu.dbeta, cpu.dbeta, kFloat32Tolerance);
    }
  }
}

TEST_CASE("batch_norm on CUDA in float64 matches the CPU reference", "[gpu][batch_norm]") {
  PoisonAllocations poison;
  BatchNormInputs in = batch_norm_inputs(1001, 37, true, DType::Float64, 5);
  BatchNormRun cpu = run_batch_norm(in, true, Device::cpu(), 5);
  BatchNormRun gpu = run_batch_norm(in, true, Device::cuda(), 5);
  check_close("y", gpu.y, cpu.y, 1e-12);
  check_close("running_var", gpu.running_var, cpu.running_var, 1e-12);
  check_close("dx", gpu.dx, cpu.dx, 1e-12);
  check_close("dgamma", gpu.dgamma, cpu.dgamma, 1e-12);
}

TEST_CASE("batch_norm on CUDA is deterministic", "[gpu][batch_norm]") {
  PoisonAllocations poison;
  BatchNormInputs in = batch_norm_inputs(4800, 1024, true, DType::Float32, 23);
  BatchNormRun first = run_batch_norm(in, true, Device::cuda(), 23);
  BatchNormRun second = run_batch_norm(in, true, Device::cuda(), 23);
  CHECK(first.y.to_vector<float>() == second.y.to_vector<float>());
  CHECK(first.dx.to_vector<float>() == second.dx.to_vector<float>());
  CHECK(first.dgamma.to_vector<float>() == second.dgamma.to_vector<float>());
}

TEST_CASE("dropout on CUDA drops exactly the elements the CPU drops", "[gpu][dropout]") {
  PoisonAllocations poison;
  const int64_t n = 1000003;
  Generator values(8);
  Tensor x = Tensor::normal({n}, 0, 1, values);
  for (uint64_t offset : {uint64_t(0), uint64_t(5), uint64_t(1) << 33}) {
    INFO("offset " << offset);
    Generator cpu_generator(2024, offset), gpu_generator(2024, offset);
    Tensor x_cpu = fresh_copy(x, Device::cpu(), true), x_gpu = fresh_copy(x, Device::cuda(), true);
    Tensor y_cpu = dropout(x_cpu, 0.37, true, cpu_generator);
    Tensor y_gpu = dropout(x_gpu, 0.37, true, gpu_generator);
    CHECK(gpu_generator.offset() == cpu_generator.offset());
    std::vector<float> cpu_values = y_cpu.to_vector<float>(), gpu_values = y_gpu.to_vector<float>();
    int64_t mismatches = 0, dropped = 0;
    for (size_t i = 0; i < cpu_values.size(); ++i) {
      mismatches += cpu_values[i] != gpu_values[i];  // NaN (unwritten) counts as a mismatch
      dropped += cpu_values[i] == 0.0f;
    }
    CHECK(mismatches == 0);
    CHECK(double(dropped) / double(n) == Approx(0.37).margin(0.01));

    Tensor seed_cpu = Tensor::normal({n}, 0, 1, values);
    Tensor seed_gpu = seed_cpu.to(Device::cuda());
    y_cpu.backward(seed_cpu);
    y_gpu.backward(seed_gpu);
    CHECK(x_gpu.grad().to_vector<float>() == x_cpu.grad().to_vector<float>());
  }
}

TEST_CASE("bce_with_logits on CUDA matches the CPU reference", "[gpu][bce]") {
  PoisonAllocations poison;
  Generator generator(99);
  Shape shape = {160, 3862};
  Tensor logits = Tensor::normal(shape, 0, 4, generator);
  // Multi-hot labels: mostly 0, some 1.
  std::vector<float> u = Tensor::uniform(shape, 0, 1, generator).to_vector<float>();
  for (float& v : u) v = v < 0.02f ? 1.0f : 0.0f;
  Tensor labels = Tensor::from_vector(u, shape);
  auto run = [&](Device device) {
    Tensor x = fresh_copy(logits, device, true), z = fresh_copy(labels, device, true);
    Tensor loss = bce_with_logits(x, z);
    weighted_objective(loss, 3).backward();
    return std::vector<Tensor>{loss, x.grad(), z.grad()};
  };
  std::vector<Tensor> cpu = run(Device::cpu()), gpu = run(Device::cuda());
  check_close("loss", gpu[0], cpu[0], kFloat32Tolerance);
  check_close("dlogits", gpu[1], cpu[1], kFloat32Tolerance);
  check_close("dlabels", gpu[2], cpu[2], kFloat32Tolerance);
}

}  // namespace ff::test
