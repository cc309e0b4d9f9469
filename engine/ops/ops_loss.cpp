#include <stdexcept>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops/op_checks.h"
#include "kernels/bce.h"

namespace ff {

Tensor bce_with_logits(const Tensor& logits, const Tensor& labels) {
  detail::check_defined(logits, "bce_with_logits", "logits");
  detail::check_defined(labels, "bce_with_logits", "labels");
  detail::check_compatible(logits, labels, "bce_with_logits");
  // No broadcasting: a labels tensor of the wrong shape is a bug upstream, not something to expand.
  if (logits.shape() != labels.shape())
    throw std::invalid_argument("bce_with_logits: logits " + logits.str() + " and labels " + labels.str() +
                                " must have the same shape");
  Tensor loss = Tensor::empty_like(logits);
  visit_float_dtype(logits.dtype(), "bce_with_logits", [&]<class T>() {
    FF_RUN_KERNEL(logits.device(), bce_with_logits_forward<T>, logits.data<T>(), labels.data<T>(), loss.data<T>(),
                  logits.numel());
  });
  Tensor saved_logits = logits.detach(), saved_labels = labels.detach();
  return record(loss, {logits, labels}, "bce_with_logits",
                [=](const Tensor& dloss, const NeedsGrad& needs) -> std::vector<Tensor> {
                  Tensor dlogits = needs[0] ? Tensor::empty_like(dloss) : Tensor();
                  Tensor dlabels = needs[1] ? Tensor::empty_like(dloss) : Tensor();
                  visit_float_dtype(dloss.dtype(), "bce_with_logits backward", [&]<class T>() {
                    FF_RUN_KERNEL(dloss.device(), bce_with_logits_backward<T>, saved_logits.data<T>(),
                                  saved_labels.data<T>(), dloss.data<T>(),
                                  dlogits.defined() ? dlogits.data<T>() : nullptr,
                                  dlabels.defined() ? dlabels.data<T>() : nullptr, dloss.numel());
                  });
                  return {dlogits, dlabels};
                });
}

}  // namespace ff
