// GEMM precision on CUDA: TF32 and BF16 float32 GEMMs within 1e-3 and 1e-2 (normwise relative) of the fp32
// result, single and strided-batched, with a shared operand and transposes; fp32 within 1e-5 of the CPU;
// the scoped setter restores the previous precision and set_tf32_enabled maps onto it.
#include <catch2/catch.hpp>

#include "engine/device.h"
#include "engine/ops.h"
#include "kernels/cuda_context.h"
#include "kernels/matmul.h"
#include "op_cases/gradient_check.h"

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
    CHECK(relative_error(fp32, cpu) < 1e-5);
    CHECK(relative_error(tf32, fp32) < 1e-3);
    CHECK(relative_error(bf16, fp32) < 1e-2);
  }
  set_poison_allocations(false);
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
