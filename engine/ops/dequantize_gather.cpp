#include <stdexcept>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops/op_checks.h"
#include "kernels/dequantize_gather.h"

namespace ff {

Tensor dequantize_gather(const Tensor& frames, const Tensor& indices) {
  detail::check_defined(frames, "dequantize_gather", "frames");
  detail::check_defined(indices, "dequantize_gather", "indices");
  if (frames.dim() != 3 || frames.dtype() != DType::UInt8 || indices.dim() != 2 || indices.dtype() != DType::Int32 ||
      indices.size(0) != frames.size(0) || indices.device() != frames.device())
    throw std::invalid_argument("dequantize_gather: expected uint8 frames [batch, frames, size] and int32 indices "
                                "[batch, k] on the same device, got " + frames.str() + " and " + indices.str());
  const int64_t batch = frames.size(0), count = frames.size(1), size = frames.size(2), k = indices.size(1);
  Tensor y = Tensor::empty({batch, k, size}, DType::Float32, frames.device());
  FF_RUN_KERNEL(frames.device(), dequantize_gather, batch, count, size, k, frames.data<uint8_t>(),
                indices.data<int32_t>(), y.data<float>());
  return y;
}

}  // namespace ff
