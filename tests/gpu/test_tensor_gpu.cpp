// The tensor layer on CUDA: Philox agreement, copies, casts, streams, pinned memory, and the kernels at
// sizes the op catalogue's small shapes do not reach (many blocks, grid-stride loops, odd tails).
#include <catch2/catch.hpp>
#include <cmath>

#include "engine/autograd.h"
#include "engine/device.h"
#include "engine/ops.h"
#include "op_cases/gradient_check.h"

namespace ff {

TEST_CASE("Philox fills agree between CPU and GPU", "[gpu][random]") {
  Generator cpu_generator(123), gpu_generator(123);
  Shape shape{1000003};
  CHECK(Tensor::uniform(shape, -2, 5, cpu_generator).to_vector<float>() ==
        Tensor::uniform(shape, -2, 5, gpu_generator, DType::Float32, Device::cuda()).to_vector<float>());
  std::vector<float> cpu_normal = Tensor::normal(shape, 0, 1, cpu_generator).to_vector<float>();
  std::vector<float> gpu_normal = Tensor::normal(shape, 0, 1, gpu_generator, DType::Float32, Device::cuda()).to_vector<float>();
  size_t differing = 0;
  for (size_t i = 0; i < cpu_normal.size(); ++i) {
    REQUIRE(std::fabs(cpu_normal[i] - gpu_normal[i]) <= 1e-6f * std::max(1.0f, std::fabs(cpu_normal[i])));
    differing += cpu_normal[i] != gpu_normal[i];
  }
  INFO("normals differing in the last bit: " << differing);
  CHECK(differing < cpu_normal.size() / 1000);
}

TEST_CASE("copies and casts round-trip through the GPU", "[gpu][tensor]") {
  Generator generator(5);
  Tensor host = Tensor::normal({777, 13}, 0, 3, generator);
  Tensor device = host.to(Device::cuda());
  CHECK(device.is_cuda());
  CHECK(device.to(Device::cpu()).to_vector<float>() == host.to_vector<float>());
  for (DType dtype : {DType::Float64, DType::BFloat16, DType::Int32, DType::Int64, DType::UInt8}) {
    INFO(dtype_name(dtype));
    CHECK(device.to(dtype).to(Device::cpu()).to(DType::Float64).to_vector<double>() ==
          host.to(dtype).to(DType::Float64).to_vector<double>());
  }
}

TEST_CASE("kernels queue on the current stream", "[gpu][device]") {
  Stream stream;
  StreamGuard guard(stream);
  Tensor x = Tensor::full({1 << 20}, 2.0, DType::Float32, Device::cuda());
  Tensor y = sum_all(square(x));
  stream.synchronize();
  CHECK(y.item() == Approx(4.0 * (1 << 20)));
  PinnedBuffer pinned(1 << 20);
  CHECK(pinned.pinned());
}

TEST_CASE("large reductions, softmax rows and GEMMs match the CPU", "[gpu][ops]") {
  Generator generator(11);
  auto compare = [](const Tensor& gpu, const Tensor& cpu, double tolerance) {
    double error = test::relative_error(gpu, cpu);
    INFO("relative error " << error);
    CHECK(error < tolerance);
  };
  Tensor a = Tensor::normal({300 * 16, 1024}, 0, 1, generator);
  Tensor b = Tensor::normal({1024, 257}, 0, 0.05, generator);
  NoGradGuard no_grad;
  compare(matmul(a.to(Device::cuda()), b.to(Device::cuda())), matmul(a, b), 1e-5);
  compare(matmul(a.to(Device::cuda()), a.to(Device::cuda()), true), matmul(a, a, true), 1e-5);
  compare(sum(a.to(Device::cuda()), {0}), sum(a, {0}), 1e-5);
  compare(sum(a.to(Device::cuda()), {1}), sum(a, {1}), 1e-5);
  compare(sum_all(a.to(Device::cuda())), sum_all(a), 1e-5);
  compare(softmax(a.to(Device::cuda())), softmax(a), 1e-5);
  compare(log_softmax(a.to(Device::cuda())), log_softmax(a), 1e-5);
  compare(l2_normalize(a.view({300, 16, 1024}).to(Device::cuda()), 1), l2_normalize(a.view({300, 16, 1024}), 1), 1e-5);
  Tensor frames = Tensor::normal({37, 300, 129}, 0, 1, generator);
  std::vector<int32_t> picks(37 * 30);
  for (size_t i = 0; i < picks.size(); ++i) picks[i] = int32_t((i * 7919) % 300);
  Tensor indices = Tensor::from_vector(picks, {37, 30});
  compare(gather_frames(frames.to(Device::cuda()), indices.to(Device::cuda())), gather_frames(frames, indices), 1e-7);
}

}  // namespace ff
