// The op catalogue. Every op runs on the CPU (reference kernels) and on CUDA, for float32 and float64,
// and records its backward when an input requires gradients. Inputs of one op share device and dtype.
#pragma once
#include <optional>
#include <vector>

#include "engine/tensor.h"
#include "kernels/distillation_loss.h"

namespace ff {

// ---- linear algebra (ops_linear.cpp)
// 2-D: [m, k] x [k, n]. 3-D: batched [b, m, k] x [b, k, n]; a 2-D operand is shared by every batch.
// The transpose flags apply to the last two axes of their operand.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);
// x[..., n] + bias[n]
Tensor bias_add(const Tensor& x, const Tensor& bias);

// ---- elementwise (ops_elementwise.cpp); binary ops broadcast numpy-style
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& x, double alpha);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor log_sigmoid(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor square(const Tensor& x);
// In place, not recorded: target += source (same shape), used to accumulate gradients.
void add_(const Tensor& target, const Tensor& source, double alpha = 1.0);

// ---- reductions and normalisations (ops_reduce.cpp)
Tensor sum(const Tensor& x, std::vector<int64_t> axes, bool keep_dims = false);
Tensor mean(const Tensor& x, std::vector<int64_t> axes, bool keep_dims = false);
Tensor sum_all(const Tensor& x);   // shape []
Tensor mean_all(const Tensor& x);  // shape []
// Softmax along the last axis.
Tensor softmax(const Tensor& x);
// Log-softmax along the last axis: x - max - log(sum(exp(x - max))), finite where log(softmax(x)) is -inf.
Tensor log_softmax(const Tensor& x);
// x / sqrt(max(sum(x^2 along axis), epsilon)), as tf.nn.l2_normalize.
Tensor l2_normalize(const Tensor& x, int64_t axis, double epsilon = 1e-12);
// Sums a broadcast gradient back to `shape` (the inverse of numpy broadcasting).
Tensor sum_to_shape(const Tensor& x, const Shape& shape);

// ---- shape and layout (ops_shape.cpp)
Tensor reshape(const Tensor& x, const Shape& shape);  // a view; one axis may be -1
Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1);
Tensor concat(const std::vector<Tensor>& parts, int64_t axis);
Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t end);  // [start, end)
// frames [batch, frames, dim], indices int32 [batch, k] -> [batch, k, dim]; index i of row b picks
// frames[b, indices[b, i]]. Repeated indices sum their gradients.
Tensor gather_frames(const Tensor& frames, const Tensor& indices);

// ---- training layers (ops_norm.cpp)
struct BatchNormOptions {
  double momentum = 0.99;  // running = momentum * running + (1 - momentum) * batch (TF's "decay")
  double epsilon = 1e-3;
};
// Batch norm over the rows of x [rows, channels]: y = (x - mean) / sqrt(var + eps) * gamma + beta.
// Training uses the batch statistics (biased variance, as TF) of the rows whose mask is 1 (all rows when
// `row_mask` [rows] is undefined) and updates running_mean / running_var in place; inference uses the
// running averages. gamma or beta may be undefined (no scale / no centre).
Tensor batch_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                  const Tensor& running_var, bool training, const Tensor& row_mask = Tensor(),
                  const BatchNormOptions& options = {});
// Inverted dropout: keeps each element with probability 1 - rate and scales it by 1 / (1 - rate).
// The mask comes from the Philox stream, so CPU and GPU drop the same elements for the same seed.
Tensor dropout(const Tensor& x, double rate, bool training, Generator& generator);

// ---- losses (ops_loss.cpp)
// Elementwise max(x, 0) - x * z + log(1 + exp(-|x|)): binary cross-entropy of sigmoid(x) against z.
Tensor bce_with_logits(const Tensor& logits, const Tensor& labels);


// ---- fused NeXtVLAD kernels (nextvlad_fused.cpp); the composed ops above are their reference
// The soft assignment of a NeXtVLAD block in one op (kernels/nextvlad_assignment.h): cluster logits
// z [rows, G*K] through the cluster batch norm (as batch_norm: gamma, beta, running statistics updated in
// training), softmax over each group's K clusters, times sigmoid(attention_logits [rows, G]) and the 0/1
// frame_mask [rows]. Returns [rows, G*K]. With `statistics_exclude_padding` the training statistics are
// taken over the rows whose mask is 1, else over all rows. Gradients flow to z, the attention logits,
// gamma and beta.
Tensor nextvlad_assignment(const Tensor& cluster_logits, const Tensor& attention_logits, const Tensor& frame_mask,
                           const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                           const Tensor& running_var, bool training, bool statistics_exclude_padding,
                           const BatchNormOptions& options = {});
// The residual aggregation and intra-normalisation of a NeXtVLAD block (kernels/nextvlad_aggregation.h):
// assignment [B, R, K], grouped features [B, R, D], centres [D, K] -> [B, D, K], each cluster's D-vector of
// sum_i a (x - c) L2-normalised as l2_normalize(.., axis 1, epsilon). Gradients flow to all three inputs.
Tensor nextvlad_aggregation(const Tensor& assignment, const Tensor& features, const Tensor& centres,
                            double epsilon = 1e-12);

// ---- fused distillation loss (ops/distillation_loss.cpp)
// The label, prediction and representation losses of teacher-student training in one fused op (the
// formulas are in kernels/distillation_loss.h), each averaged over the batch and weighted into one total.
// Inputs [batch, classes] (logits, labels) and [batch, encoding] (encodings); a term of weight 0 may leave
// its inputs undefined. The teacher's outputs and the labels are constants: passing one that requires
// gradients throws (detach it). Gradients flow to the student's logits and encoding.
struct DistillationLossValues {
  Tensor total;  // [] the weighted sum, differentiable
  Tensor terms;  // [3] label, prediction, representation: unweighted, 0 for a term of weight 0, constant
};
DistillationLossValues distillation_loss(const Tensor& student_logits, const Tensor& student_encoding,
                                         const Tensor& teacher_logits, const Tensor& teacher_encoding,
                                         const Tensor& labels, const DistillationLossOptions& options);

// ---- sampled frames from uint8 (ops/dequantize_gather.cpp)
// frames uint8 [batch, frames, size], indices int32 [batch, k] -> float32 [batch, k, size]: the sampled
// frames dequantised in one pass (kernels/dequantize_gather.h). Index -1 (or any index outside
// [0, frames)) is a padding slot and holds what a zero byte dequantises to. Not differentiable.
Tensor dequantize_gather(const Tensor& frames, const Tensor& indices);

}  // namespace ff
