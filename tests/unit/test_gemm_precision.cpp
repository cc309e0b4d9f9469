// The GEMM precision setting: names, the scoped setter, and the CPU's documented indifference to it
// (OpenBLAS computes float32 whatever is selected, so every precision gives the same bits); and the GEMM
// contract for an empty inner dimension, which both backends implement themselves.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

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

TEST_CASE("a GEMM with an empty inner dimension sets C to beta * C, and beta 0 overwrites NaN", "[matmul]") {
  GemmShape shape;
  shape.m = 2;
  shape.n = 3;
  shape.k = 0;
  shape.batch = 2;
  shape.stride_c = 8;  // two slots between the matrices, untouched
  for (float beta : {0.0f, 2.0f}) {
    std::vector<float> c = {1, 2, 3, 4, 5, 6, 70, 80, -1, -2, -3, -4, -5, -6};
    c[1] = std::numeric_limits<float>::quiet_NaN();
    cpu::gemm(shape, 1.0f, static_cast<const float*>(nullptr), static_cast<const float*>(nullptr), beta, c.data());
    if (beta == 0.0f) {
      CHECK(c == std::vector<float>{0, 0, 0, 0, 0, 0, 70, 80, 0, 0, 0, 0, 0, 0});
    } else {
      CHECK(std::isnan(c[1]));
      c[1] = 0;
      CHECK(c == std::vector<float>{2, 0, 6, 8, 10, 12, 70, 80, -2, -4, -6, -8, -10, -12});
    }
  }
}

}  // namespace ff
