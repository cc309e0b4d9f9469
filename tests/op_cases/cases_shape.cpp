// Layout ops and the normalisations along an axis.
#include "engine/ops.h"
#include "op_cases/op_case.h"

namespace ff::test {
namespace {
using K = InputKind;

const RegisterOpCase cases[] = {
    RegisterOpCase({"softmax_rows", {{{4, 7}}}, [](auto& in) { return softmax(in[0]); }}),
    RegisterOpCase({"softmax_3d_wide_range", {{{2, 3, 5}}}, [](auto& in) { return softmax(scale(in[0], 6.0)); }}),
    RegisterOpCase({"softmax_single_column", {{{3, 1}}}, [](auto& in) { return softmax(in[0]); }}),
    RegisterOpCase({"log_softmax_rows", {{{4, 7}}}, [](auto& in) { return log_softmax(in[0]); }}),
    // Logits a few hundred apart: softmax underflows to 0 in float32 there, log_softmax must not.
    RegisterOpCase({"log_softmax_large_logits",
                    {{{3, 6}}},
                    [](auto& in) { return log_softmax(scale(in[0], 200.0)); }}),
    // Rows wider than the CUDA kernel's 128 threads, so each thread strides over several columns.
    RegisterOpCase({"log_softmax_wide_rows", {{{2, 300}}}, [](auto& in) { return log_softmax(in[0]); }}),
    RegisterOpCase({"log_softmax_single_column", {{{3, 1}}}, [](auto& in) { return log_softmax(in[0]); }}),
    RegisterOpCase({"l2_normalize_last_axis", {{{3, 5}}}, [](auto& in) { return l2_normalize(in[0], -1); }}),
    RegisterOpCase({"l2_normalize_middle_axis", {{{2, 4, 3}}}, [](auto& in) { return l2_normalize(in[0], 1); }}),
    RegisterOpCase({"l2_normalize_clamped_by_epsilon",
                    {{{3, 4}}},
                    [](auto& in) { return l2_normalize(scale(in[0], 1e-3), 1, 1e-4); }}),
    RegisterOpCase({"transpose_2d", {{{3, 5}}}, [](auto& in) { return transpose(in[0], 0, 1); }}),
    RegisterOpCase({"transpose_outer_axes", {{{2, 3, 4, 5}}}, [](auto& in) { return transpose(in[0], 3, 1); }}),
    RegisterOpCase({"concat_axis1", {{{2, 3, 2}}, {{2, 1, 2}}, {{2, 4, 2}}},
                    [](auto& in) { return concat({in[0], in[1], in[2]}, 1); }}),
    RegisterOpCase({"concat_last_axis", {{{3, 2}}, {{3, 5}}}, [](auto& in) { return concat({in[0], in[1]}, -1); }}),
    RegisterOpCase({"concat_same_tensor_twice", {{{2, 3}}}, [](auto& in) { return concat({in[0], in[0]}, 0); }}),
    RegisterOpCase({"slice_middle", {{{4, 6, 2}}}, [](auto& in) { return slice(in[0], 1, 2, 5); }}),
    RegisterOpCase({"slice_first_axis", {{{5, 3}}}, [](auto& in) { return slice(in[0], 0, 1, 4); }}),
    RegisterOpCase({"gather_frames", {{{2, 7, 3}}, {{2, 4}, K::Indices, 7}},
                    [](auto& in) { return gather_frames(in[0], in[1]); }}),
    RegisterOpCase({"gather_frames_repeated_indices", {{{3, 2, 5}}, {{3, 6}, K::Indices, 2}},
                    [](auto& in) { return gather_frames(in[0], in[1]); }}),
};

}  // namespace
}  // namespace ff::test
