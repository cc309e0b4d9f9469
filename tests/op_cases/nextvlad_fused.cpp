// The fused NeXtVLAD ops: the soft assignment (cluster batch norm, softmax over K, group attention, frame
// mask) and the residual aggregation with intra-normalisation. Odd sizes, K above one 32-wide tile of the
// CUDA epilogues, padded rows in and out of the batch-norm statistics, training and inference.
#include "engine/ops.h"
#include "op_cases/op_case.h"

namespace ff::test {
namespace {
using K = InputKind;

// in: cluster logits [rows, G*K], attention logits [rows, G], gamma, beta, frame mask [rows]. Fresh running
// statistics: training does not read them.
Tensor assignment_training(const std::vector<Tensor>& in, bool exclude_padding) {
  const Tensor& z = in[0];
  Tensor running_mean = Tensor::zeros({z.size(1)}, z.dtype(), z.device());
  Tensor running_var = Tensor::full({z.size(1)}, 1.0, z.dtype(), z.device());
  return nextvlad_assignment(z, in[1], in[4], in[2], in[3], running_mean, running_var, true, exclude_padding);
}

// Running statistics away from 0 and 1, the same on every device (Philox).
Tensor assignment_inference(const std::vector<Tensor>& in) {
  Generator generator(37);
  const Tensor& z = in[0];
  Tensor running_mean = Tensor::normal({z.size(1)}, 0.0, 1.0, generator, z.dtype(), z.device());
  Tensor running_var = Tensor::uniform({z.size(1)}, 0.5, 2.0, generator, z.dtype(), z.device());
  return nextvlad_assignment(z, in[1], in[4], in[2], in[3], running_mean, running_var, false, true);
}

std::vector<InputSpec> assignment_inputs(int64_t rows, int64_t groups, int64_t clusters) {
  const int64_t channels = groups * clusters;
  return {{{rows, channels}}, {{rows, groups}}, {{channels}}, {{channels}}, {{rows}, K::Mask}};
}

const RegisterOpCase cases[] = {
    RegisterOpCase({"nextvlad_assignment_training_masked",
                    assignment_inputs(7, 3, 5),
                    [](auto& in) { return assignment_training(in, true); }}),
    RegisterOpCase({"nextvlad_assignment_training_all_rows",
                    assignment_inputs(7, 3, 5),
                    [](auto& in) { return assignment_training(in, false); }}),
    // K = 37: more clusters than one warp's lanes, so a lane handles two of a segment.
    RegisterOpCase({"nextvlad_assignment_training_wide",
                    assignment_inputs(5, 2, 37),
                    [](auto& in) { return assignment_training(in, true); }}),
    RegisterOpCase({"nextvlad_assignment_training_nonlinear_after",  // the objective is not linear in the output
                    assignment_inputs(6, 2, 3),
                    [](auto& in) { return square(assignment_training(in, true)); }}),
    RegisterOpCase({"nextvlad_assignment_inference",
                    assignment_inputs(6, 2, 4),
                    [](auto& in) { return assignment_inference(in); }}),
    // assignment [B, R, K], features [B, R, D], centres [D, K]
    RegisterOpCase({"nextvlad_aggregation",
                    {{{3, 5, 4}, K::Unit}, {{3, 5, 6}}, {{6, 4}}},
                    [](auto& in) { return nextvlad_aggregation(in[0], in[1], in[2]); }}),
    RegisterOpCase({"nextvlad_aggregation_odd",
                    {{{2, 7, 3}}, {{2, 7, 5}}, {{5, 3}}},
                    [](auto& in) { return nextvlad_aggregation(in[0], in[1], in[2]); }}),
    RegisterOpCase({"nextvlad_aggregation_wide",  // K = 37: two 32-wide cluster tiles, the second partial
                    {{{2, 4, 37}, K::Unit}, {{2, 4, 3}}, {{3, 37}}},
                    [](auto& in) { return nextvlad_aggregation(in[0], in[1], in[2]); }}),
    RegisterOpCase({"nextvlad_aggregation_nonlinear_after",
                    {{{2, 3, 4}, K::Unit}, {{2, 3, 5}}, {{5, 4}}},
                    [](auto& in) { return square(nextvlad_aggregation(in[0], in[1], in[2])); }}),
    // The two together as the block chains them: rows = B*M frames, G = 2 groups, K = 3, D = 4.
    RegisterOpCase({"nextvlad_assignment_then_aggregation",
                    {{{6, 6}}, {{6, 2}}, {{6}}, {{6}}, {{6}, K::Mask}, {{2, 6, 4}}, {{4, 3}}},
                    [](auto& in) {
                      Tensor a = assignment_training(in, true);
                      return nextvlad_aggregation(reshape(a, {2, 6, 3}), in[5], in[6]);
                    }}),
};

}  // namespace
}  // namespace ff::test
