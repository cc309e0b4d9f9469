#include <cmath>
#include <stdexcept>
#include <string>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops/op_checks.h"

namespace ff {
namespace {

constexpr const char* kOp = "distillation_loss";

void check_options(const DistillationLossOptions& o) {
  for (auto [name, weight] : {std::pair{"label", o.label_weight},
                              {"prediction", o.prediction_weight},
                              {"representation", o.representation_weight}})
    if (!std::isfinite(weight) || weight < 0)
      throw std::invalid_argument(std::string(kOp) + ": the " + name + " weight must be finite and >= 0, got " +
                                  std::to_string(weight));
  if (o.label_weight == 0 && o.prediction_weight == 0 && o.representation_weight == 0)
    throw std::invalid_argument(std::string(kOp) + ": every weight is 0");
  if (!(o.temperature > 0) || !std::isfinite(o.temperature))
    throw std::invalid_argument(std::string(kOp) + ": the temperature must be finite and > 0, got " +
                                std::to_string(o.temperature));
}

// Checks one input a term needs: defined, 2-D, `rows` rows (when known), of `reference`'s device and dtype.
void check_input(const Tensor& t, const char* what, bool constant, const Tensor& reference) {
  if (!t.defined()) throw std::invalid_argument(std::string(kOp) + ": " + what + " is needed by a weighted term");
  if (t.dim() != 2) throw std::invalid_argument(std::string(kOp) + ": " + what + " must be 2-D, got " + t.str());
  if (t.device() != reference.device() || t.dtype() != reference.dtype() || t.size(0) != reference.size(0))
    throw std::invalid_argument(std::string(kOp) + ": " + what + " " + t.str() + " does not match " + reference.str() +
                                " in batch, device or dtype");
  if (constant && t.requires_grad())
    throw std::invalid_argument(std::string(kOp) + ": " + what + " " + t.str() +
                                " requires gradients, but the loss treats it as a constant (pass it detached)");
}

template <class T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace

DistillationLossValues distillation_loss(const Tensor& student_logits, const Tensor& student_encoding,
                                         const Tensor& teacher_logits, const Tensor& teacher_encoding,
                                         const Tensor& labels, const DistillationLossOptions& options) {
  check_options(options);
  const bool uses_logits = options.label_weight != 0 || options.prediction_weight != 0;
  const bool uses_encoding = options.representation_weight != 0;
  const Tensor& reference = uses_logits ? student_logits : student_encoding;
  detail::check_defined(reference, kOp, uses_logits ? "student_logits" : "student_encoding");
  int64_t classes = 0, encoding = 0;
  if (uses_logits) {
    check_input(student_logits, "student_logits", false, reference);
    classes = student_logits.size(1);
  }
  auto check_logits_shape = [&](const Tensor& t, const char* what) {
    check_input(t, what, true, reference);
    if (t.shape() != student_logits.shape())
      throw std::invalid_argument(std::string(kOp) + ": " + what + " " + t.str() + " and student_logits " +
                                  student_logits.str() + " differ in shape");
  };
  if (options.label_weight != 0) check_logits_shape(labels, "labels");
  if (options.prediction_weight != 0) check_logits_shape(teacher_logits, "teacher_logits");
  if (uses_encoding) {
    check_input(student_encoding, "student_encoding", false, reference);
    check_input(teacher_encoding, "teacher_encoding", true, reference);
    if (teacher_encoding.shape() != student_encoding.shape())
      throw std::invalid_argument(std::string(kOp) + ": teacher_encoding " + teacher_encoding.str() +
                                  " and student_encoding " + student_encoding.str() + " differ in shape");
    encoding = student_encoding.size(1);
  }
  const int64_t batch = reference.size(0);
  if (batch == 0) throw std::invalid_argument(std::string(kOp) + ": the batch is empty");

  // Only the tensors of weighted terms reach the kernels (and the saved state of the backward).
  Tensor zs = uses_logits ? student_logits.detach() : Tensor();
  Tensor zt = options.prediction_weight != 0 ? teacher_logits.detach() : Tensor();
  Tensor y = options.label_weight != 0 ? labels.detach() : Tensor();
  Tensor es = uses_encoding ? student_encoding.detach() : Tensor();
  Tensor et = uses_encoding ? teacher_encoding.detach() : Tensor();

  Tensor row_stats = Tensor::empty({batch, kDistillationRowStats}, reference.dtype(), reference.device());
  Tensor values = Tensor::empty({kDistillationTerms}, reference.dtype(), reference.device());
  visit_float_dtype(reference.dtype(), kOp, [&]<class T>() {
    FF_RUN_KERNEL(reference.device(), distillation_loss_forward<T>, options, batch, classes, encoding,
                  data_or_null<T>(zs), data_or_null<T>(zt), data_or_null<T>(y), data_or_null<T>(es),
                  data_or_null<T>(et), row_stats.data<T>(), values.data<T>());
  });

  DistillationLossValues result;
  result.terms = values.narrow_rows(1, 3);
  Tensor total = values.narrow_rows(0, 1).view({});
  result.total = record(
      total, {uses_logits ? student_logits : Tensor(), uses_encoding ? student_encoding : Tensor()}, kOp,
      [=](const Tensor& dtotal, const NeedsGrad& needs) -> std::vector<Tensor> {
        Tensor dlogits = needs[0] ? Tensor::empty_like(zs) : Tensor();
        Tensor dencoding = needs[1] ? Tensor::empty_like(es) : Tensor();
        visit_float_dtype(dtotal.dtype(), "distillation_loss backward", [&]<class T>() {
          FF_RUN_KERNEL(dtotal.device(), distillation_loss_backward<T>, options, batch, classes, encoding,
                        data_or_null<T>(zs), data_or_null<T>(zt), data_or_null<T>(y), data_or_null<T>(es),
                        data_or_null<T>(et), row_stats.data<T>(), dtotal.data<T>(), data_or_null<T>(dlogits),
                        data_or_null<T>(dencoding));
        });
        return {dlogits, dencoding};
      });
  return result;
}

}  // namespace ff
