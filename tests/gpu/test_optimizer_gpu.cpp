// The fused multi-tensor CUDA optimizers against the CPU reference loops: several tensors of odd sizes
// (one element, chunk boundaries crossed, many chunks), l2 on some, clipping active on some, several
// steps with fresh gradients. Float32, relative error < 1e-5 on parameters, their displacement and every
// slot; a NaN never passes.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <vector>

#include "engine/device.h"
#include "engine/dispatch.h"
#include "engine/optimizer.h"
#include "kernels/optimizer.h"
#include "op_cases/gradient_check.h"

namespace ff::test {
namespace {

constexpr double kTolerance = 1e-5;

struct TensorSpec {
  int64_t n;
  float l2;
  double grad_scale;  // sets whether the norm of grad + l2 * param exceeds the clip threshold
};

// grad + l2 * param, over one tensor, in double: which tensors the clip will touch.
double preprocessed_norm(const Tensor& grad, const Tensor& param, float l2) {
  std::vector<float> g = grad.to_vector<float>(), p = param.to_vector<float>();
  double sum = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    double x = double(g[i] + l2 * p[i]);
    sum += x * x;
  }
  return std::sqrt(sum);
}

// One backend's copy of the optimizer's tensors.
struct Side {
  std::vector<Tensor> params, ms, vs, grads;
  MultiTensorWorkspace workspace;
};

Side make_side(const std::vector<Tensor>& host_params, Device device) {
  Side side;
  for (const Tensor& p : host_params) {
    side.params.push_back(p.to(device).clone());
    side.ms.push_back(Tensor::zeros_like(side.params.back()));
    side.vs.push_back(Tensor::zeros_like(side.params.back()));
  }
  return side;
}

std::vector<AdamTensor> adam_tensors(Side& side, const std::vector<TensorSpec>& specs) {
  std::vector<AdamTensor> tensors;
  for (size_t i = 0; i < specs.size(); ++i)
    tensors.push_back(AdamTensor{side.params[i].data<float>(), side.grads[i].data<float>(), side.ms[i].data<float>(),
                                 side.vs[i].data<float>(), specs[i].n, specs[i].l2});
  return tensors;
}

void check_close(const Tensor& gpu, const Tensor& cpu, const std::string& what) {
  double error = relative_error(gpu, cpu);
  INFO(what << ": relative error " << error);
  CHECK(error < kTolerance);
}

// (after - before) on both sides: the update itself, which is small next to the parameter.
void check_displacement(const Tensor& gpu, const Tensor& cpu, const Tensor& before, const std::string& what) {
  std::vector<double> g = gpu.to_vector<double>(), c = cpu.to_vector<double>(), b = before.to_vector<double>();
  std::vector<double> dg(g.size()), dc(c.size());
  for (size_t i = 0; i < g.size(); ++i) dg[i] = g[i] - b[i], dc[i] = c[i] - b[i];
  Shape shape{int64_t(g.size())};
  check_close(Tensor::from_vector(dg, shape), Tensor::from_vector(dc, shape), what + " displacement");
}

}  // namespace

TEST_CASE("fused multi-tensor Adam on CUDA matches the CPU reference", "[gpu][optimizer]") {
  set_poison_allocations(true);
  const std::vector<TensorSpec> specs = {
      {1, 0.0f, 0.5},          // one element, below the clip threshold
      {1000, 0.5f, 0.01},      // clipped because of its l2 term
      {65537, 0.0f, 1.0},      // one element past a chunk, clipped by its gradient
      {300001, 1e-3f, 1e-4},   // many chunks, l2, below the threshold
  };
  const float clip_norm = 1.0f;
  Generator generator(2024);
  std::vector<Tensor> host_params, initial;
  for (const TensorSpec& s : specs) host_params.push_back(Tensor::uniform({s.n}, -1.0, 1.0, generator));
  initial = host_params;
  Side cpu_side = make_side(host_params, Device::cpu());
  Side gpu_side = make_side(host_params, Device::cuda());
  Side gpu_again = make_side(host_params, Device::cuda());  // determinism: a second run, bit for bit

  const std::vector<double> learning_rates = {0.05, 0.05, 0.03, 0.02, 0.01};
  int clipped = 0, unclipped = 0;
  for (size_t step = 1; step <= learning_rates.size(); ++step) {
    cpu_side.grads.clear();
    gpu_side.grads.clear();
    gpu_again.grads.clear();
    for (size_t i = 0; i < specs.size(); ++i) {
      Tensor grad = Tensor::uniform({specs[i].n}, -specs[i].grad_scale, specs[i].grad_scale, generator);
      if (step == 1) (preprocessed_norm(grad, host_params[i], specs[i].l2) > clip_norm ? clipped : unclipped)++;
      cpu_side.grads.push_back(grad);
      gpu_side.grads.push_back(grad.to(Device::cuda()));  // a new pointer each step: the table is re-uploaded
      gpu_again.grads.push_back(gpu_side.grads.back());
    }
    const AdamHyperParameters hyper{adam_corrected_learning_rate(learning_rates[step - 1], 0.9f, 0.999f, int64_t(step)),
                                    0.9f, 0.999f, 1e-8f, clip_norm};
    std::vector<AdamTensor> on_cpu = adam_tensors(cpu_side, specs), on_gpu = adam_tensors(gpu_side, specs),
                            on_gpu_again = adam_tensors(gpu_again, specs);
    cpu::adam_update(on_cpu.data(), int64_t(on_cpu.size()), hyper, cpu_side.workspace);
    // Through the dispatcher, so that a CPU-only build links (and this executable then exits 77 first).
    FF_RUN_KERNEL(Device::cuda(), adam_update, on_gpu.data(), int64_t(on_gpu.size()), hyper, gpu_side.workspace);
    FF_RUN_KERNEL(Device::cuda(), adam_update, on_gpu_again.data(), int64_t(on_gpu_again.size()), hyper,
                  gpu_again.workspace);
  }
  synchronize(Device::cuda());
  REQUIRE(clipped >= 2);
  REQUIRE(unclipped >= 2);
  for (size_t i = 0; i < specs.size(); ++i) {
    std::string what = "tensor of " + std::to_string(specs[i].n);
    check_close(gpu_side.params[i], cpu_side.params[i], what + " parameter");
    check_displacement(gpu_side.params[i], cpu_side.params[i], initial[i], what + " parameter");
    check_close(gpu_side.ms[i], cpu_side.ms[i], what + " m");
    check_close(gpu_side.vs[i], cpu_side.vs[i], what + " v");
    CHECK(gpu_again.params[i].to_vector<float>() == gpu_side.params[i].to_vector<float>());
  }
  set_poison_allocations(false);
}

TEST_CASE("Adam and momentum optimizers on CUDA follow the CPU through a changing parameter list",
          "[gpu][optimizer]") {
  set_poison_allocations(true);
  Generator generator(99);
  const std::vector<int64_t> sizes = {1, 1000, 65537, 300001, 7};
  std::vector<Tensor> values;
  for (int64_t n : sizes) values.push_back(Tensor::uniform({n}, -1.0, 1.0, generator));

  // Parameters 0-3 from the start; parameter 4 joins after two steps (the device tables are rebuilt).
  // Parameter 2 gets no gradient on step 3 (skipped on both sides).
  auto build = [&](ParameterSet& set, Device device, size_t count) {
    for (size_t i = set.all().size(); i < count; ++i)
      set.add("p" + std::to_string(i), values[i].to(device).clone(), /*l2_regularized=*/i % 2 == 1);
  };
  GradientPreprocessing preprocessing;
  preprocessing.l2 = 0.3f;
  preprocessing.clip_norm = 2.0f;

  for (bool adam : {true, false}) {
    INFO((adam ? "adam" : "momentum"));
    ParameterSet cpu_set, gpu_set;
    build(cpu_set, Device::cpu(), 4);
    build(gpu_set, Device::cuda(), 4);
    AdamOptions adam_options;
    adam_options.preprocessing = preprocessing;
    MomentumOptions momentum_options;
    momentum_options.preprocessing = preprocessing;
    std::unique_ptr<Optimizer> cpu_optimizer, gpu_optimizer;
    if (adam) {
      cpu_optimizer = std::make_unique<AdamOptimizer>(cpu_set, adam_options);
      gpu_optimizer = std::make_unique<AdamOptimizer>(gpu_set, adam_options);
    } else {
      cpu_optimizer = std::make_unique<MomentumOptimizer>(cpu_set, momentum_options);
      gpu_optimizer = std::make_unique<MomentumOptimizer>(gpu_set, momentum_options);
    }
    for (int step = 1; step <= 5; ++step) {
      if (step == 3) {
        build(cpu_set, Device::cpu(), sizes.size());
        build(gpu_set, Device::cuda(), sizes.size());
      }
      for (size_t i = 0; i < cpu_set.all().size(); ++i) {
        if (step == 3 && i == 2) {
          cpu_set.all()[i].value.zero_grad();
          gpu_set.all()[i].value.zero_grad();
          continue;
        }
        Tensor grad = Tensor::uniform({sizes[i]}, -0.2, 0.2, generator);
        cpu_set.all()[i].value.impl()->grad = grad.impl();
        gpu_set.all()[i].value.impl()->grad = grad.to(Device::cuda()).impl();
      }
      cpu_optimizer->step(0.02);
      gpu_optimizer->step(0.02);
    }
    synchronize(Device::cuda());
    for (size_t i = 0; i < cpu_set.all().size(); ++i) {
      check_close(gpu_set.all()[i].value, cpu_set.all()[i].value, cpu_set.all()[i].name);
      check_displacement(gpu_set.all()[i].value, cpu_set.all()[i].value, values[i], cpu_set.all()[i].name);
    }
    NamedTensors cpu_state = cpu_optimizer->state(), gpu_state = gpu_optimizer->state();
    REQUIRE(cpu_state.size() == gpu_state.size());
    for (size_t i = 0; i < cpu_state.size(); ++i) {
      REQUIRE(cpu_state[i].first == gpu_state[i].first);
      check_close(gpu_state[i].second, cpu_state[i].second, cpu_state[i].first);
    }
  }
  set_poison_allocations(false);
}

}  // namespace ff::test
