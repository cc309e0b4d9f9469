#include <stdexcept>
#include <string>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops/op_checks.h"
#include "kernels/batch_norm.h"
#include "kernels/nextvlad_aggregation.h"
#include "kernels/nextvlad_assignment.h"

namespace ff {
namespace {

template <class T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

void check_shape(const Tensor& t, const Shape& expected, const char* op, const char* what, const Tensor& reference) {
  detail::check_compatible(reference, t, op);
  if (t.shape() != expected)
    throw std::invalid_argument(std::string(op) + ": " + what + " " + t.str() + " does not match " + reference.str() +
                                " (expected " + shape_str(expected) + ")");
}

}  // namespace

Tensor nextvlad_assignment(const Tensor& cluster_logits, const Tensor& attention_logits, const Tensor& frame_mask,
                           const Tensor& gamma, const Tensor& beta, const Tensor& running_mean,
                           const Tensor& running_var, bool training, bool statistics_exclude_padding,
                           const BatchNormOptions& options) {
  const char* op = "nextvlad_assignment";
  detail::check_defined(cluster_logits, op, "cluster_logits");
  detail::check_defined(attention_logits, op, "attention_logits");
  if (cluster_logits.dim() != 2 || attention_logits.dim() != 2 || attention_logits.size(1) < 1)
    throw std::invalid_argument(std::string(op) + ": cluster_logits " + cluster_logits.str() +
                                " must be [rows, G*K] and attention_logits " + attention_logits.str() +
                                " [rows, G]");
  const int64_t rows = cluster_logits.size(0), channels = cluster_logits.size(1), groups = attention_logits.size(1);
  if (attention_logits.size(0) != rows || channels % groups != 0)
    throw std::invalid_argument(std::string(op) + ": attention_logits " + attention_logits.str() +
                                " does not match cluster_logits " + cluster_logits.str() +
                                " (same rows, G dividing the channels)");
  check_shape(attention_logits, {rows, groups}, op, "attention_logits", cluster_logits);
  detail::check_defined(frame_mask, op, "frame_mask");
  check_shape(frame_mask, {rows}, op, "frame_mask", cluster_logits);
  check_shape(running_mean, {channels}, op, "running_mean", cluster_logits);
  check_shape(running_var, {channels}, op, "running_var", cluster_logits);
  if (gamma.defined()) check_shape(gamma, {channels}, op, "gamma", cluster_logits);
  if (beta.defined()) check_shape(beta, {channels}, op, "beta", cluster_logits);
  if (!(options.epsilon > 0)) throw std::invalid_argument(std::string(op) + ": epsilon must be > 0");
  if (!(options.momentum >= 0 && options.momentum <= 1))
    throw std::invalid_argument(std::string(op) + ": momentum must lie in [0, 1], got " +
                                std::to_string(options.momentum));

  const Device device = cluster_logits.device();
  const DType dtype = cluster_logits.dtype();
  // The statistics the logits are normalised with: the batch's (masked or not) in training, the running
  // averages in inference; constants of the forward, differentiated explicitly in the backward.
  Tensor mean = Tensor::empty({channels}, dtype, device);
  Tensor rstd = Tensor::empty({channels}, dtype, device);
  Tensor count;  // [1], training only
  Tensor statistics_mask = statistics_exclude_padding ? frame_mask.detach() : Tensor();
  Tensor out = Tensor::empty_like(cluster_logits);
  visit_float_dtype(dtype, op, [&]<class T>() {
    if (training) {
      Tensor variance = Tensor::empty({channels}, dtype, device);
      count = Tensor::empty({1}, dtype, device);
      FF_RUN_KERNEL(device, batch_norm_statistics<T>, cluster_logits.data<T>(), data_or_null<T>(statistics_mask), rows,
                    channels, T(options.epsilon), mean.data<T>(), variance.data<T>(), rstd.data<T>(), count.data<T>());
      FF_RUN_KERNEL(device, batch_norm_update_running<T>, mean.data<T>(), variance.data<T>(), channels,
                    T(options.momentum), running_mean.data<T>(), running_var.data<T>());
    } else {
      mean.copy_from(running_mean);
      FF_RUN_KERNEL(device, batch_norm_inverse_std<T>, running_var.data<T>(), channels, T(options.epsilon),
                    rstd.data<T>());
    }
    NeXtVladAssignmentInputs<T> in{cluster_logits.data<T>(), attention_logits.data<T>(), frame_mask.data<T>(),
                                   mean.data<T>(), rstd.data<T>(), data_or_null<T>(gamma), data_or_null<T>(beta),
                                   rows, groups, channels / groups};
    FF_RUN_KERNEL(device, nextvlad_assignment_forward<T>, in, out.data<T>());
  });

  Tensor saved_logits = cluster_logits.detach(), saved_attention = attention_logits.detach();
  Tensor saved_mask = frame_mask.detach();
  Tensor saved_gamma = gamma.defined() ? gamma.detach() : Tensor();
  Tensor saved_beta = beta.defined() ? beta.detach() : Tensor();
  return record(
      out, {cluster_logits, attention_logits, gamma, beta}, op,
      [=](const Tensor& dout, const NeedsGrad& needs) -> std::vector<Tensor> {
        Tensor dlogits, dattention, sum_dy, sum_dy_xhat;
        // Training needs both sums for dz; gamma and beta need them in either mode.
        const bool need_sums = (needs[0] && training) || needs[2] || needs[3];
        visit_float_dtype(dout.dtype(), "nextvlad_assignment backward", [&]<class T>() {
          NeXtVladAssignmentInputs<T> in{saved_logits.data<T>(), saved_attention.data<T>(), saved_mask.data<T>(),
                                         mean.data<T>(), rstd.data<T>(), data_or_null<T>(saved_gamma),
                                         data_or_null<T>(saved_beta), rows, groups, channels / groups};
          if (need_sums) {
            sum_dy = Tensor::empty({channels}, dout.dtype(), dout.device());
            sum_dy_xhat = Tensor::empty({channels}, dout.dtype(), dout.device());
            FF_RUN_KERNEL(dout.device(), nextvlad_assignment_backward_sums<T>, in, dout.data<T>(), sum_dy.data<T>(),
                          sum_dy_xhat.data<T>());
          }
          if (needs[0]) dlogits = Tensor::empty_like(dout);
          if (needs[1]) dattention = Tensor::empty({rows, groups}, dout.dtype(), dout.device());
          if (needs[0] || needs[1])
            FF_RUN_KERNEL(dout.device(), nextvlad_assignment_backward<T>, in, dout.data<T>(),
                          data_or_null<T>(statistics_mask), data_or_null<T>(count), data_or_null<T>(sum_dy),
                          data_or_null<T>(sum_dy_xhat), data_or_null<T>(dlogits), data_or_null<T>(dattention));
        });
        return {dlogits, dattention, needs[2] ? sum_dy_xhat : Tensor(), needs[3] ? sum_dy : Tensor()};
      });
}

Tensor nextvlad_aggregation(const Tensor& assignment, const Tensor& features, const Tensor& centres, double epsilon) {
  const char* op = "nextvlad_aggregation";
  detail::check_compatible(assignment, features, op);
  detail::check_compatible(assignment, centres, op);
  if (assignment.dim() != 3 || features.dim() != 3 || centres.dim() != 2)
    throw std::invalid_argument(std::string(op) + ": assignment " + assignment.str() + " must be [B, R, K], features " +
                                features.str() + " [B, R, D] and centres " + centres.str() + " [D, K]");
  NeXtVladAggregationShape shape{assignment.size(0), assignment.size(1), assignment.size(2), features.size(2)};
  check_shape(features, {shape.batch, shape.rows, shape.features}, op, "features", assignment);
  check_shape(centres, {shape.features, shape.clusters}, op, "centres", assignment);
  if (!(epsilon > 0)) throw std::invalid_argument(std::string(op) + ": epsilon must be > 0");

  const Device device = assignment.device();
  const DType dtype = assignment.dtype();
  Tensor vlad = Tensor::empty({shape.batch, shape.features, shape.clusters}, dtype, device);
  Tensor sums = Tensor::empty({shape.batch, shape.clusters}, dtype, device);
  Tensor norms = Tensor::empty({shape.batch, shape.clusters}, dtype, device);
  visit_float_dtype(dtype, op, [&]<class T>() {
    FF_RUN_KERNEL(device, nextvlad_aggregation_forward<T>, shape, assignment.data<T>(), features.data<T>(),
                  centres.data<T>(), T(epsilon), vlad.data<T>(), sums.data<T>(), norms.data<T>());
  });

  Tensor saved_assignment = assignment.detach(), saved_features = features.detach(), saved_centres = centres.detach();
  Tensor saved_vlad = vlad.detach();
  return record(vlad, {assignment, features, centres}, op,
                [=](const Tensor& dvlad, const NeedsGrad& needs) -> std::vector<Tensor> {
                  Tensor dassignment, dfeatures, dcentres;
                  Tensor dresidual = Tensor::empty_like(dvlad);
                  Tensor dsums = Tensor::empty_like(sums);
                  if (needs[0]) dassignment = Tensor::empty_like(saved_assignment);
                  if (needs[1]) dfeatures = Tensor::empty_like(saved_features);
                  if (needs[2]) dcentres = Tensor::empty_like(saved_centres);
                  visit_float_dtype(dvlad.dtype(), "nextvlad_aggregation backward", [&]<class T>() {
                    FF_RUN_KERNEL(dvlad.device(), nextvlad_aggregation_backward<T>, shape, dvlad.data<T>(),
                                  saved_vlad.data<T>(), norms.data<T>(), sums.data<T>(), saved_assignment.data<T>(),
                                  saved_features.data<T>(), saved_centres.data<T>(), T(epsilon), dresidual.data<T>(),
                                  dsums.data<T>(), data_or_null<T>(dassignment), data_or_null<T>(dfeatures),
                                  data_or_null<T>(dcentres));
                  });
                  return {dassignment, dfeatures, dcentres};
                });
}

}  // namespace ff
