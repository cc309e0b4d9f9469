#include "op_cases/op_case.h"

#include <cmath>

#include "engine/ops.h"

namespace ff::test {

std::vector<OpCase>& op_cases() {
  static std::vector<OpCase> cases;
  return cases;
}

std::vector<Tensor> make_inputs(const OpCase& c, DType dtype, Device device, uint64_t seed) {
  Generator generator(seed);
  std::vector<Tensor> inputs;
  for (const InputSpec& spec : c.inputs) {
    Tensor t;
    switch (spec.kind) {
      case InputKind::Normal: {
        std::vector<double> v = Tensor::normal(spec.shape, 0, 1, generator, DType::Float64).to_vector<double>();
        if (c.kink_margin > 0)
          for (double& x : v)
            if (std::fabs(x) < c.kink_margin) x = x < 0 ? x - c.kink_margin : x + c.kink_margin;
        t = Tensor::from_vector(v, spec.shape).to(dtype);
        break;
      }
      case InputKind::Constant: t = Tensor::normal(spec.shape, 0, 1, generator, dtype); break;
      case InputKind::Positive: t = Tensor::uniform(spec.shape, 0.5, 2.0, generator, dtype); break;
      case InputKind::Unit: t = Tensor::uniform(spec.shape, 0.0, 1.0, generator, dtype); break;
      case InputKind::Mask: {
        std::vector<double> v = Tensor::uniform(spec.shape, 0, 1, generator, DType::Float64).to_vector<double>();
        for (double& x : v) x = x < 0.7 ? 1.0 : 0.0;
        if (!v.empty()) v[0] = 1.0;  // at least one row counts
        t = Tensor::from_vector(v, spec.shape).to(dtype);
        break;
      }
      case InputKind::Indices: {
        std::vector<double> v = Tensor::uniform(spec.shape, 0, 1, generator, DType::Float64).to_vector<double>();
        std::vector<int32_t> idx(v.size());
        for (size_t i = 0; i < v.size(); ++i) idx[i] = int32_t(v[i] * double(spec.index_range));
        t = Tensor::from_vector(idx, spec.shape);
        break;
      }
    }
    t = t.to(device);
    if (spec.differentiable()) t.set_requires_grad(true);
    inputs.push_back(t);
  }
  return inputs;
}

}  // namespace ff::test
