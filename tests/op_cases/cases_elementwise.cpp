// Elementwise, linear-algebra and reduction ops.
#include "engine/ops.h"
#include "op_cases/op_case.h"

namespace ff::test {
namespace {
using K = InputKind;

const RegisterOpCase cases[] = {
    RegisterOpCase({"add", {{{3, 5}}, {{3, 5}}}, [](auto& in) { return add(in[0], in[1]); }}),
    RegisterOpCase({"add_broadcast_row", {{{4, 3, 5}}, {{5}}}, [](auto& in) { return add(in[0], in[1]); }}),
    RegisterOpCase({"add_broadcast_both", {{{4, 1, 5}}, {{3, 1}}}, [](auto& in) { return add(in[0], in[1]); }}),
    RegisterOpCase({"sub_broadcast", {{{2, 3, 4}}, {{2, 1, 4}}}, [](auto& in) { return sub(in[0], in[1]); }}),
    RegisterOpCase({"mul_broadcast", {{{2, 7}}, {{1, 7}}}, [](auto& in) { return mul(in[0], in[1]); }}),
    RegisterOpCase({"mul_same_tensor", {{{3, 4}}}, [](auto& in) { return mul(in[0], in[0]); }}),
    RegisterOpCase({"div_broadcast", {{{3, 4}}, {{4}, K::Positive}}, [](auto& in) { return div(in[0], in[1]); }}),
    RegisterOpCase({"scale", {{{9}}}, [](auto& in) { return scale(in[0], -2.5); }}),
    RegisterOpCase({"sigmoid", {{{3, 7}}}, [](auto& in) { return sigmoid(in[0]); }}),
    RegisterOpCase({"sigmoid_large_values", {{{2, 5}}}, [](auto& in) { return sigmoid(scale(in[0], 8.0)); }}),
    RegisterOpCase({"relu", {{{4, 6}}}, [](auto& in) { return relu(in[0]); }, 0.01}),
    RegisterOpCase({"log_sigmoid", {{{5, 3}}}, [](auto& in) { return log_sigmoid(scale(in[0], 4.0)); }}),
    RegisterOpCase({"exp", {{{6}}}, [](auto& in) { return exp(in[0]); }}),
    RegisterOpCase({"log", {{{6}, K::Positive}}, [](auto& in) { return log(in[0]); }}),
    RegisterOpCase({"square", {{{2, 3}}}, [](auto& in) { return square(in[0]); }}),
    RegisterOpCase({"matmul", {{{3, 4}}, {{4, 5}}}, [](auto& in) { return matmul(in[0], in[1]); }}),
    RegisterOpCase({"matmul_transpose_a", {{{4, 3}}, {{4, 5}}}, [](auto& in) { return matmul(in[0], in[1], true); }}),
    RegisterOpCase(
        {"matmul_transpose_b", {{{3, 4}}, {{5, 4}}}, [](auto& in) { return matmul(in[0], in[1], false, true); }}),
    RegisterOpCase(
        {"matmul_transpose_both", {{{4, 3}}, {{5, 4}}}, [](auto& in) { return matmul(in[0], in[1], true, true); }}),
    RegisterOpCase({"matmul_batched", {{{2, 3, 4}}, {{2, 4, 5}}}, [](auto& in) { return matmul(in[0], in[1]); }}),
    RegisterOpCase({"matmul_batched_transposes",
                    {{{3, 4, 2}}, {{3, 5, 4}}},
                    [](auto& in) { return matmul(in[0], in[1], true, true); }}),
    RegisterOpCase({"matmul_batched_shared_b", {{{2, 3, 4}}, {{4, 5}}}, [](auto& in) { return matmul(in[0], in[1]); }}),
    RegisterOpCase({"matmul_batched_shared_a_transposed",
                    {{{4, 3}}, {{2, 4, 5}}},
                    [](auto& in) { return matmul(in[0], in[1], true); }}),
    RegisterOpCase({"bias_add", {{{2, 3, 5}}, {{5}}}, [](auto& in) { return bias_add(in[0], in[1]); }}),
    RegisterOpCase({"sum_axis0", {{{3, 4}}}, [](auto& in) { return sum(in[0], {0}); }}),
    RegisterOpCase({"sum_last_axis", {{{3, 4, 5}}}, [](auto& in) { return sum(in[0], {-1}); }}),
    RegisterOpCase({"sum_two_axes_keep", {{{3, 4, 5}}}, [](auto& in) { return sum(in[0], {0, 2}, true); }}),
    RegisterOpCase({"mean_middle_axis", {{{3, 4, 5}}}, [](auto& in) { return mean(in[0], {1}); }}),
    RegisterOpCase({"sum_all", {{{3, 7}}}, [](auto& in) { return sum_all(in[0]); }}),
    RegisterOpCase({"mean_all", {{{5, 3}}}, [](auto& in) { return mean_all(in[0]); }}),
    RegisterOpCase({"reshape", {{{2, 6}}}, [](auto& in) { return mul(reshape(in[0], {3, -1}), reshape(in[0], {3, 4})); }}),
};

}  // namespace
}  // namespace ff::test
