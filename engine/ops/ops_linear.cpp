#include <stdexcept>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops/op_checks.h"
#include "kernels/matmul.h"

namespace ff {
namespace {

// The GEMM without autograd: shapes are checked and the batch of a 2-D operand is broadcast.
Tensor gemm_raw(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  detail::check_compatible(a, b, "matmul");
  if (a.dim() < 2 || a.dim() > 3 || b.dim() < 2 || b.dim() > 3)
    throw std::invalid_argument("matmul: operands must be 2-D or 3-D, got " + a.str() + " and " + b.str());
  GemmShape s;
  s.trans_a = ta;
  s.trans_b = tb;
  s.m = ta ? a.size(-1) : a.size(-2);
  s.k = ta ? a.size(-2) : a.size(-1);
  int64_t kb = tb ? b.size(-1) : b.size(-2);
  s.n = tb ? b.size(-2) : b.size(-1);
  if (kb != s.k)
    throw std::invalid_argument("matmul: inner dimensions differ: " + a.str() + (ta ? " (transposed)" : "") + " x " +
                                b.str() + (tb ? " (transposed)" : ""));
  int64_t batch_a = a.dim() == 3 ? a.size(0) : 1, batch_b = b.dim() == 3 ? b.size(0) : 1;
  if (a.dim() == 3 && b.dim() == 3 && batch_a != batch_b)
    throw std::invalid_argument("matmul: batch sizes differ: " + a.str() + " x " + b.str());
  bool batched = a.dim() == 3 || b.dim() == 3;
  s.batch = std::max(batch_a, batch_b);
  s.stride_a = a.dim() == 3 ? s.m * s.k : 0;
  s.stride_b = b.dim() == 3 ? s.k * s.n : 0;
  s.stride_c = s.m * s.n;
  Tensor c = batched ? Tensor::empty({s.batch, s.m, s.n}, a.dtype(), a.device())
                     : Tensor::empty({s.m, s.n}, a.dtype(), a.device());
  visit_float_dtype(a.dtype(), "matmul", [&]<class T>() {
    FF_RUN_KERNEL(a.device(), gemm<T>, s, T(1), a.data<T>(), b.data<T>(), T(0), c.data<T>());
  });
  return c;
}

// A 2-D operand shared across a batch receives the sum of its per-batch gradients.
Tensor fold_batch(const Tensor& grad, const Tensor& input) {
  return grad.dim() == 3 && input.dim() == 2 ? sum(grad, {0}) : grad;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  Tensor c = gemm_raw(a, b, ta, tb);
  Tensor saved_a = a.detach(), saved_b = b.detach();
  return record(c, {a, b}, "matmul", [=](const Tensor& g, const NeedsGrad& needs) -> std::vector<Tensor> {
    Tensor ga, gb;
    if (needs[0]) ga = fold_batch(ta ? gemm_raw(saved_b, g, tb, true) : gemm_raw(g, saved_b, false, !tb), saved_a);
    if (needs[1]) gb = fold_batch(tb ? gemm_raw(g, saved_a, true, ta) : gemm_raw(saved_a, g, !ta, false), saved_b);
    return {ga, gb};
  });
}

Tensor bias_add(const Tensor& x, const Tensor& bias) {
  detail::check_compatible(x, bias, "bias_add");
  if (bias.dim() != 1 || x.dim() < 1 || x.size(-1) != bias.size(0))
    throw std::invalid_argument("bias_add: bias " + bias.str() + " does not match the last axis of " + x.str());
  return add(x, bias);
}

}  // namespace ff
