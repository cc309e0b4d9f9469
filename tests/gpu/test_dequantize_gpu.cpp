// Dequantisation on the device against the CPU reference: bit-identical floats for every byte value and
// on a large odd-sized frame buffer (no fused multiply-add may creep in on the device).
#include <catch2/catch.hpp>

#include "engine/dispatch.h"
#include "engine/tensor.h"
#include "kernels/dequantize.h"

namespace ff {
namespace {

std::vector<float> dequantize_on(Device device, const std::vector<uint8_t>& bytes) {
  Tensor q = Tensor::from_vector(bytes, {int64_t(bytes.size())}).to(device);
  Tensor y = Tensor::empty({int64_t(bytes.size())}, DType::Float32, device);
  FF_RUN_KERNEL(device, dequantize, q.data<uint8_t>(), y.data<float>(), q.numel());
  return y.to_vector<float>();
}

}  // namespace

TEST_CASE("dequantisation on the GPU gives the CPU's floats bit for bit", "[gpu][dequantize]") {
  set_poison_allocations(true);
  std::vector<uint8_t> every(256);
  for (int i = 0; i < 256; ++i) every[size_t(i)] = uint8_t(i);
  CHECK(dequantize_on(Device::cuda(), every) == dequantize_on(Device::cpu(), every));

  std::vector<uint8_t> frames(size_t(300) * 1152 * 7 + 13);
  for (size_t i = 0; i < frames.size(); ++i) frames[i] = uint8_t((i * 2654435761u) >> 13);
  CHECK(dequantize_on(Device::cuda(), frames) == dequantize_on(Device::cpu(), frames));
  set_poison_allocations(false);
}

}  // namespace ff
