// dequantize_gather (CPU reference): equal, bit for bit, to dequantising every frame and then gathering the
// sampled ones; padding slots hold a zero byte's value; wrong shapes and dtypes are refused.
#include <catch2/catch.hpp>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/dequantize.h"

namespace ff {
namespace {

using Catch::Matchers::Contains;

Tensor byte_frames(int64_t batch, int64_t frames, int64_t size) {
  std::vector<uint8_t> bytes(size_t(batch * frames * size));
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t((i * 2654435761u) >> 11);
  return Tensor::from_vector(bytes, {batch, frames, size});
}

Tensor dequantize_all(const Tensor& q) {
  Tensor y = Tensor::empty(q.shape(), DType::Float32);
  FF_RUN_KERNEL(q.device(), dequantize, q.data<uint8_t>(), y.data<float>(), q.numel());
  return y;
}

}  // namespace

TEST_CASE("dequantize_gather equals dequantize then gather_frames, bit for bit", "[dequantize_gather]") {
  for (int64_t size : {int64_t(1024), int64_t(7)}) {
    Tensor q = byte_frames(3, 11, size);
    Tensor indices = Tensor::from_vector(std::vector<int32_t>{0, 5, 10, 2, 2, 9, 10, 0, 4, 7, 1, 3}, {3, 4});
    std::vector<float> expected = gather_frames(dequantize_all(q), indices).to_vector<float>();
    CHECK(dequantize_gather(q, indices).to_vector<float>() == expected);
  }
}

TEST_CASE("dequantize_gather fills padding slots with a zero byte's value", "[dequantize_gather]") {
  Tensor q = byte_frames(2, 5, 6);
  // Row 0: a video of two frames sampled into four slots; row 1: an index past the end is padding too.
  Tensor indices = Tensor::from_vector(std::vector<int32_t>{0, 1, -1, -1, 4, 5, -7, 3}, {2, 4});
  std::vector<float> y = dequantize_gather(q, indices).to_vector<float>();
  std::vector<uint8_t> bytes = q.to_vector<uint8_t>();
  auto value = [&](int64_t b, int64_t slot, int64_t d) { return y[size_t((b * 4 + slot) * 6 + d)]; };
  for (int64_t d = 0; d < 6; ++d) {
    CHECK(value(0, 1, d) == dequantize_value(bytes[size_t((0 * 5 + 1) * 6 + d)]));
    CHECK(value(0, 2, d) == dequantize_value(0));
    CHECK(value(0, 3, d) == dequantize_value(0));
    CHECK(value(1, 0, d) == dequantize_value(bytes[size_t((1 * 5 + 4) * 6 + d)]));
    CHECK(value(1, 1, d) == dequantize_value(0));
    CHECK(value(1, 2, d) == dequantize_value(0));
    CHECK(value(1, 3, d) == dequantize_value(bytes[size_t((1 * 5 + 3) * 6 + d)]));
  }
}

TEST_CASE("dequantize_gather checks its arguments", "[dequantize_gather]") {
  Tensor q = byte_frames(2, 5, 6);
  Tensor indices = Tensor::zeros({2, 3}, DType::Int32);
  CHECK(dequantize_gather(q, indices).shape() == Shape{2, 3, 6});
  CHECK(dequantize_gather(q, Tensor::zeros({2, 0}, DType::Int32)).shape() == Shape{2, 0, 6});
  CHECK_THROWS_WITH(dequantize_gather(q.to(DType::Float32), indices), Contains("uint8"));
  CHECK_THROWS_WITH(dequantize_gather(q, Tensor::zeros({3, 3}, DType::Int32)), Contains("int32 indices"));
  CHECK_THROWS_WITH(dequantize_gather(q, Tensor::zeros({2, 3}, DType::Int64)), Contains("int32 indices"));
  CHECK_THROWS_WITH(dequantize_gather(q.view({10, 6}), indices), Contains("[batch, frames, size]"));
}

}  // namespace ff
