// dequantize_gather on CUDA against the CPU reference, bit for bit: the vectorised path (frame sizes that are
// multiples of 4), the scalar path (odd sizes, misaligned buffers), padding and out-of-range indices.
#include <catch2/catch.hpp>
#include <vector>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "gpu/gpu_compare.h"
#include "kernels/dequantize_gather.h"

namespace ff {
namespace {

std::vector<uint8_t> frame_bytes(int64_t n, uint32_t salt) {
  std::vector<uint8_t> bytes(static_cast<size_t>(n));
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t(((i + salt) * 2654435761u) >> 13);
  return bytes;
}

// Uniform-k-like indices with some padding (-1) and a few out-of-range ones.
std::vector<int32_t> sample_indices(int64_t batch, int64_t frames, int64_t k) {
  std::vector<int32_t> indices(size_t(batch * k));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < k; ++i) {
      int32_t index = int32_t((i * frames + b) / k);
      if ((b + i) % 7 == 3) index = -1;
      if ((b * 3 + i) % 29 == 11) index = int32_t(frames + i);
      indices[size_t(b * k + i)] = index;
    }
  return indices;
}

}  // namespace

TEST_CASE("dequantize_gather on the GPU gives the CPU's floats bit for bit", "[gpu][dequantize_gather]") {
  test::PoisonAllocations poison;
  struct Size {
    int64_t batch, frames, size, k;
  };
  for (Size s : {Size{160, 300, 1024, 10}, Size{160, 300, 128, 30}, Size{3, 17, 7, 5}, Size{1, 1, 1, 1},
                 Size{64, 300, 1024, 300}}) {
    INFO("batch " << s.batch << " frames " << s.frames << " size " << s.size << " k " << s.k);
    Tensor q = Tensor::from_vector(frame_bytes(s.batch * s.frames * s.size, 5), {s.batch, s.frames, s.size});
    Tensor indices = Tensor::from_vector(sample_indices(s.batch, s.frames, s.k), {s.batch, s.k});
    std::vector<float> cpu = dequantize_gather(q, indices).to_vector<float>();
    std::vector<float> gpu = dequantize_gather(q.to(Device::cuda()), indices.to(Device::cuda())).to_vector<float>();
    CHECK(gpu == cpu);
  }
}

TEST_CASE("dequantize_gather on the GPU handles buffers not aligned for vector access", "[gpu][dequantize_gather]") {
  test::PoisonAllocations poison;
  // Frame size 8 (a multiple of 4), but the frames start one byte into their buffer and the output one
  // float into its own: the kernel must take the scalar path.
  const int64_t batch = 4, frames = 9, size = 8, k = 6;
  std::vector<uint8_t> bytes = frame_bytes(batch * frames * size + 1, 9);
  Tensor buffer = Tensor::from_vector(bytes, {int64_t(bytes.size())}).to(Device::cuda());
  Tensor q_gpu = buffer.narrow_rows(1, batch * frames * size).view({batch, frames, size});
  Tensor q_cpu = q_gpu.to(Device::cpu());
  Tensor indices = Tensor::from_vector(sample_indices(batch, frames, k), {batch, k});
  Tensor indices_gpu = indices.to(Device::cuda());
  Tensor out = Tensor::empty({batch * k * size + 1}, DType::Float32, Device::cuda());
  FF_RUN_KERNEL(Device::cuda(), dequantize_gather, batch, frames, size, k, q_gpu.data<uint8_t>(),
                indices_gpu.data<int32_t>(), out.data<float>() + 1);
  std::vector<float> gpu = out.narrow_rows(1, batch * k * size).to_vector<float>();
  CHECK(gpu == dequantize_gather(q_cpu, indices).view({-1}).to_vector<float>());
}

}  // namespace ff
