// The fused distillation loss on CUDA against the CPU reference at training sizes (odd ones included, up to
// the default model's 3862 classes and 36864-wide encoding): total, terms and both gradients, float32 within
// 1e-5 and float64 within 1e-12, allocations poisoned; and two CUDA runs agree bit for bit.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/ops.h"
#include "gpu/gpu_compare.h"

namespace ff::test {
namespace {

struct LossRun {
  Tensor total, terms, dlogits, dencoding;
};

// Fresh inputs on `device` from one seeded stream, so both devices see the same values.
LossRun run_loss(int64_t batch, int64_t classes, int64_t encoding, const DistillationLossOptions& options,
                 DType dtype, Device device, uint64_t seed) {
  Generator generator(seed);
  Tensor student_logits = Tensor::normal({batch, classes}, -1.0, 2.0, generator, dtype).to(device);
  Tensor student_encoding = Tensor::normal({batch, encoding}, 0.0, 0.1, generator, dtype).to(device);
  Tensor teacher_logits = Tensor::normal({batch, classes}, -1.0, 2.5, generator, dtype).to(device);
  Tensor teacher_encoding = Tensor::normal({batch, encoding}, 0.0, 0.1, generator, dtype).to(device);
  std::vector<double> labels = Tensor::uniform({batch, classes}, 0, 1, generator, DType::Float64).to_vector<double>();
  for (double& y : labels) y = y < 0.001 ? 1.0 : 0.0;
  Tensor label_tensor = Tensor::from_vector(labels, {batch, classes}).to(dtype).to(device);
  student_logits.set_requires_grad(true);
  student_encoding.set_requires_grad(true);
  DistillationLossValues values =
      distillation_loss(student_logits, student_encoding, teacher_logits, teacher_encoding, label_tensor, options);
  values.total.backward();
  return {values.total, values.terms, student_logits.grad(), student_encoding.grad()};
}

// Each term on its own: the label term is thousands of times the others at 3862 classes, so a normwise
// comparison of the three together would let a wrong prediction or representation term through.
void check_terms(const Tensor& gpu, const Tensor& cpu, double tolerance) {
  std::vector<double> g = gpu.to(Device::cpu()).to(DType::Float64).to_vector<double>();
  std::vector<double> c = cpu.to(DType::Float64).to_vector<double>();
  REQUIRE(g.size() == c.size());
  for (size_t i = 0; i < g.size(); ++i) {
    INFO("term " << i << ": GPU " << g[i] << ", CPU " << c[i]);
    CHECK(std::abs(g[i] - c[i]) <= tolerance * std::max(std::abs(c[i]), 1e-30));
  }
}

DistillationLossOptions options_for(PredictionLossKind kind, double temperature) {
  DistillationLossOptions o;
  o.label_weight = 1.0;
  o.prediction_weight = 0.8;
  o.representation_weight = 0.5;
  o.prediction = kind;
  o.temperature = temperature;
  return o;
}

}  // namespace

TEST_CASE("the fused distillation loss on CUDA matches the CPU reference", "[gpu][losses][fused]") {
  PoisonAllocations poison;
  struct Size {
    int64_t batch, classes, encoding;
  };
  const std::vector<Size> sizes = {{1, 1, 1}, {3, 257, 129}, {37, 3862, 1000}, {160, 3862, 36864}};
  for (DType dtype : {DType::Float32, DType::Float64}) {
    const double tolerance = dtype == DType::Float32 ? 1e-5 : 1e-12;
    for (const Size& s : sizes)
      for (PredictionLossKind kind :
           {PredictionLossKind::CategoricalKL, PredictionLossKind::BernoulliKL, PredictionLossKind::SquaredError})
        for (double temperature : {1.0, 3.0}) {
          INFO(dtype_name(dtype) << " batch " << s.batch << " classes " << s.classes << " encoding " << s.encoding
                                 << " kind " << int(kind) << " T=" << temperature);
          // All three terms, then the prediction term alone: its gradient is about 1e-3 of the label
          // term's, so only on its own does a comparison of dlogits test it.
          DistillationLossOptions prediction_only = options_for(kind, temperature);
          prediction_only.label_weight = prediction_only.representation_weight = 0.0;
          for (const DistillationLossOptions& options : {options_for(kind, temperature), prediction_only}) {
            INFO("label weight " << options.label_weight);
            LossRun cpu = run_loss(s.batch, s.classes, s.encoding, options, dtype, Device::cpu(), 17);
            LossRun gpu = run_loss(s.batch, s.classes, s.encoding, options, dtype, Device::cuda(), 17);
            CHECK(relative_error(gpu.total, cpu.total) < tolerance);
            check_terms(gpu.terms, cpu.terms, tolerance);
            CHECK(relative_error(gpu.dlogits, cpu.dlogits) < tolerance);
            if (options.representation_weight != 0.0)
              CHECK(relative_error(gpu.dencoding, cpu.dencoding) < tolerance);
            else
              CHECK_FALSE(gpu.dencoding.defined());
          }
        }
  }
}

TEST_CASE("the fused distillation loss on CUDA computes only the weighted terms", "[gpu][losses][fused]") {
  PoisonAllocations poison;
  DistillationLossOptions label_only;  // label weight 1, the others 0
  LossRun cpu = run_loss(9, 3862, 77, label_only, DType::Float32, Device::cpu(), 3);
  LossRun gpu = run_loss(9, 3862, 77, label_only, DType::Float32, Device::cuda(), 3);
  CHECK(relative_error(gpu.total, cpu.total) < 1e-5);
  CHECK(relative_error(gpu.dlogits, cpu.dlogits) < 1e-5);
  std::vector<float> terms = gpu.terms.to_vector<float>();
  CHECK(terms[1] == 0.0f);
  CHECK(terms[2] == 0.0f);
  CHECK_FALSE(gpu.dencoding.defined());  // the encoding takes no part: no gradient reaches it
}

TEST_CASE("the fused distillation loss on CUDA repeats bit for bit", "[gpu][losses][fused]") {
  DistillationLossOptions options = options_for(PredictionLossKind::CategoricalKL, 2.0);
  LossRun a = run_loss(1024, 3862, 4096, options, DType::Float32, Device::cuda(), 5);
  LossRun b = run_loss(1024, 3862, 4096, options, DType::Float32, Device::cuda(), 5);
  CHECK(a.total.item() == b.total.item());
  CHECK(a.dlogits.to_vector<float>() == b.dlogits.to_vector<float>());
}

}  // namespace ff::test
