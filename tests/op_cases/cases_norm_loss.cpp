// Training layers (batch norm, dropout) and losses. Stateful ops build their state inside the case so that
// every evaluation of a case (finite differences call it many times) sees the same state.
#include "engine/ops.h"
#include "op_cases/op_case.h"

namespace ff::test {
namespace {
using K = InputKind;

// Fresh running statistics: training must not read them, so their values do not matter there.
Tensor zeros_for_channels(const Tensor& x) { return Tensor::zeros({x.size(1)}, x.dtype(), x.device()); }
Tensor ones_for_channels(const Tensor& x) { return Tensor::full({x.size(1)}, 1.0, x.dtype(), x.device()); }

Tensor batch_norm_training(const std::vector<Tensor>& in, const Tensor& gamma, const Tensor& beta,
                           const Tensor& mask) {
  return batch_norm(in[0], gamma, beta, zeros_for_channels(in[0]), ones_for_channels(in[0]), true, mask);
}

// Running statistics away from 0 and 1, the same on every device (Philox), for inference.
Tensor batch_norm_inference(const std::vector<Tensor>& in) {
  Generator generator(31);
  const Tensor& x = in[0];
  Tensor running_mean = Tensor::normal({x.size(1)}, 0.0, 1.0, generator, x.dtype(), x.device());
  Tensor running_var = Tensor::uniform({x.size(1)}, 0.5, 2.0, generator, x.dtype(), x.device());
  return batch_norm(x, in[1], in[2], running_mean, running_var, false);
}

Tensor dropout_with_seed(const Tensor& x, double rate, bool training, uint64_t offset) {
  Generator generator(1234, offset);
  return dropout(x, rate, training, generator);
}

const RegisterOpCase cases[] = {
    RegisterOpCase({"batch_norm_training",
                    {{{7, 5}}, {{5}}, {{5}}},
                    [](auto& in) { return batch_norm_training(in, in[1], in[2], Tensor()); }}),
    RegisterOpCase({"batch_norm_training_masked",
                    {{{13, 3}}, {{3}}, {{3}}, {{13}, K::Mask}},
                    [](auto& in) { return batch_norm_training(in, in[1], in[2], in[3]); }}),
    RegisterOpCase({"batch_norm_training_masked_wide",
                    {{{9, 37}}, {{37}}, {{37}}, {{9}, K::Mask}},
                    [](auto& in) { return batch_norm_training(in, in[1], in[2], in[3]); }}),
    RegisterOpCase({"batch_norm_training_no_gamma_beta",
                    {{{7, 5}}},
                    [](auto& in) { return batch_norm_training(in, Tensor(), Tensor(), Tensor()); }}),
    RegisterOpCase({"batch_norm_training_masked_gamma_only",
                    {{{6, 4}}, {{4}}, {{6}, K::Mask}},
                    [](auto& in) { return batch_norm_training(in, in[1], Tensor(), in[2]); }}),
    RegisterOpCase({"batch_norm_training_nonlinear_after",  // the objective is not linear in y
                    {{{5, 3}}, {{3}}, {{3}}},
                    [](auto& in) { return square(batch_norm_training(in, in[1], in[2], Tensor())); }}),
    RegisterOpCase(
        {"batch_norm_inference", {{{6, 4}}, {{4}}, {{4}}}, [](auto& in) { return batch_norm_inference(in); }}),
    RegisterOpCase({"dropout_training", {{{6, 7}}}, [](auto& in) { return dropout_with_seed(in[0], 0.3, true, 0); }}),
    // An offset that is not a multiple of four starts inside a Philox block.
    RegisterOpCase({"dropout_training_unaligned_offset",
                    {{{3, 11}}},
                    [](auto& in) { return dropout_with_seed(in[0], 0.5, true, 7); }}),
    RegisterOpCase({"dropout_eval", {{{4, 5}}}, [](auto& in) { return dropout_with_seed(in[0], 0.3, false, 0); }}),
    RegisterOpCase({"bce_with_logits",
                    {{{4, 6}}, {{4, 6}, K::Unit}},
                    [](auto& in) { return bce_with_logits(in[0], in[1]); }}),
    RegisterOpCase({"bce_with_logits_large_logits",
                    {{{3, 5}}, {{3, 5}, K::Unit}},
                    [](auto& in) { return bce_with_logits(scale(in[0], 12.0), in[1]); }}),
};

}  // namespace
}  // namespace ff::test
