// GEMM precision on CUDA: TF32 and BF16 float32 GEMMs within 2e-3 and 2e-2 (normwise relative) of the fp32
// result and measurably different from it, single and strided-batched, with a shared operand and
// transposes; fp32 within 1e-5 of the CPU; an empty inner dimension as on the CPU; the scoped setter
// restores the previous precision and set_tf32_enabled maps onto it.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "engine/device.h"
#include "engine/ops.h"
#include "kernels/matmul.h"
#include "op_cases/gradient_check.h"

// The suite calls the CUDA backend's own functions: it has nothing to test in a build without it.
#if FF_WITH_CUDA
#include "kernels/cuda_context.h"

namespace ff::test {

TEST_CASE("tf32 and bf16 GEMMs stay within their tolerances of fp32", "[gpu][matmul][precision]") {
  set_poison_allocations(true);
  struct Case {
    Shape a, b;
    bool transpose_a, transpose_b;
  };
  const std::vector<Case> cases = {
      {{300, 1024}, {1024, 2048}, false, false},  // a video's frames through the expansion layer
      {{161, 4608}, {2048, 4608}, false, true},  // a narrow hidden layer, weights transposed
      {{8, 256, 301}, {8, 301, 128}, false, false},  // batched, odd inner size
      {{5, 77, 33}, {77, 65}, true, false},  // batched with a shared operand, transposed
  };
  for (const Case& c : cases) {
    Generator generator(42);
    Tensor a = Tensor::uniform(c.a, -1.0, 1.0, generator, DType::Float32, Device::cuda());
    Tensor b = Tensor::uniform(c.b, -1.0, 1.0, generator, DType::Float32, Device::cuda());
    INFO("a " << shape_str(c.a) << " b " << shape_str(c.b));
    Tensor fp32, tf32, bf16;
    {
      GemmPrecisionScope scope(GemmPrecision::Fp32);
      fp32 = matmul(a, b, c.transpose_a, c.transpose_b);
    }
    {
      GemmPrecisionScope scope(GemmPrecision::Tf32);
      tf32 = matmul(a, b, c.transpose_a, c.transpose_b);
    }
    {
      GemmPrecisionScope scope(GemmPrecision::Bf16);
      bf16 = matmul(a, b, c.transpose_a, c.transpose_b);
    }
    Tensor cpu = matmul(a.to(Device::cpu()), b.to(Device::cpu()), c.transpose_a, c.transpose_b);
    // Bounds with margin for inputs truncated rather than rounded (TF32 keeps 10 mantissa bits, bf16 7):
    // simulated at k = 1024 and 4608, truncation gives about 7e-4 and 5.5e-3.
    const double tf32_error = relative_error(tf32, fp32), bf16_error = relative_error(bf16, fp32);
    INFO("TF32 error " << tf32_error << ", bf16 error " << bf16_error);
    CHECK(relative_error(fp32, cpu) < 1e-5);
    CHECK(tf32_error < 2e-3);
    CHECK(bf16_error < 2e-2);
    // And the reduced precisions must have engaged: a compute type cuBLAS ignored (or
    // NVIDIA_TF32_OVERRIDE=0) would give fp32's result and pass the bounds above.
    if (&c == &cases.front()) {
      CHECK(tf32_error > 1e-5);
      CHECK(bf16_error > tf32_error);
    }
  }
  set_poison_allocations(false);
}

TEST_CASE("a GEMM with an empty inner dimension scales C by beta on CUDA as on the CPU", "[gpu][matmul]") {
  // cuBLAS cannot take k = 0 (its leading dimensions would be 0): the CUDA gemm handles it itself.
  for (float beta : {0.0f, 2.0f}) {
    GemmShape shape;
    shape.m = 3;
    shape.n = 5;
    shape.k = 0;
    shape.batch = 2;
    shape.stride_c = 17;  // a gap between the batch's matrices that must stay untouched
    std::vector<float> c(34);
    for (size_t i = 0; i < c.size(); ++i) c[i] = float(i) - 7.5f;
    c[4] = std::numeric_limits<float>::quiet_NaN();  // beta 0 overwrites even NaN, as BLAS does
    std::vector<float> expected = c;
    cpu::gemm(shape, 1.0f, static_cast<const float*>(nullptr), static_cast<const float*>(nullptr), beta,
              expected.data());
    Tensor device_c = Tensor::from_vector(c, {34}, Device::cuda());
    cuda::gemm(shape, 1.0f, static_cast<const float*>(nullptr), static_cast<const float*>(nullptr), beta,
               device_c.data<float>());
    std::vector<float> got = device_c.to(Device::cpu()).to_vector<float>();
    INFO("beta " << beta);
    for (size_t i = 0; i < c.size(); ++i) {
      INFO("element " << i);
      CHECK(((std::isnan(got[i]) && std::isnan(expected[i])) || got[i] == expected[i]));
    }
    CHECK(got[15] == c[15]);  // in the gap
    if (beta == 0.0f) CHECK(got[4] == 0.0f);
  }
}

TEST_CASE("the GEMM precision scope restores the previous precision", "[gpu][matmul][precision]") {
  REQUIRE(gemm_precision() == GemmPrecision::Fp32);
  {
    GemmPrecisionScope outer(GemmPrecision::Bf16);
    CHECK(gemm_precision() == GemmPrecision::Bf16);
    {
      GemmPrecisionScope inner(GemmPrecision::Tf32);
      CHECK(gemm_precision() == GemmPrecision::Tf32);
      CHECK(cuda::tf32_enabled());
    }
    CHECK(gemm_precision() == GemmPrecision::Bf16);
    CHECK_FALSE(cuda::tf32_enabled());
  }
  CHECK(gemm_precision() == GemmPrecision::Fp32);
  cuda::set_tf32_enabled(true);
  CHECK(gemm_precision() == GemmPrecision::Tf32);
  cuda::set_tf32_enabled(false);
  CHECK(gemm_precision() == GemmPrecision::Fp32);
}

}  // namespace ff::test
#endif  // FF_WITH_CUDA
