#include <stdexcept>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops/op_checks.h"

namespace ff {

Tensor reshape(const Tensor& x, const Shape& shape) {
  detail::check_defined(x, "reshape", "input");
  Tensor y = x.view(shape);
  Shape input_shape = x.shape();
  return record(y, {x}, "reshape", [=](const Tensor& g, const NeedsGrad&) -> std::vector<Tensor> {
    return {g.view(input_shape)};
  });
}

}  // namespace ff
