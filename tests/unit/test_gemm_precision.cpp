// The GEMM precision setting: names, the scoped setter, and the CPU's documented indifference to it
// (OpenBLAS computes float32 whatever is selected, so every precision gives the same bits).
#include <catch2/catch.hpp>

#include "engine/ops.h"
#include "kernels/matmul.h"

namespace ff {

TEST_CASE("the GEMM precision scope sets and restores the precision", "[matmul][precision]") {
  REQUIRE(gemm_precision() == GemmPrecision::Fp32);
  {
    GemmPrecisionScope bf16(GemmPrecision::Bf16);
    CHECK(gemm_precision() == GemmPrecision::Bf16);
    {
      GemmPrecisionScope tf32(GemmPrecision::Tf32);
      CHECK(gemm_precision() == GemmPrecision::Tf32);
    }
    CHECK(gemm_precision() == GemmPrecision::Bf16);
  }
  CHECK(gemm_precision() == GemmPrecision::Fp32);
  CHECK(std::string(gemm_precision_name(GemmPrecision::Fp32)) == "fp32");
  CHECK(std::string(gemm_precision_name(GemmPrecision::Tf32)) == "tf32");
  CHECK(std::string(gemm_precision_name(GemmPrecision::Bf16)) == "bf16");
}

TEST_CASE("CPU GEMMs ignore the precision setting", "[matmul][precision]") {
  Generator generator(8);
  Tensor a = Tensor::uniform({3, 37, 29}, -1.0, 1.0, generator);
  Tensor b = Tensor::uniform({29, 41}, -1.0, 1.0, generator);
  std::vector<float> fp32 = matmul(a, b).to_vector<float>();
  for (GemmPrecision precision : {GemmPrecision::Tf32, GemmPrecision::Bf16}) {
    GemmPrecisionScope scope(precision);
    CHECK(matmul(a, b).to_vector<float>() == fp32);
  }
}

}  // namespace ff
