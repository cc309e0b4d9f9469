// The OpenBLAS the tests load at run time is the variant the build chose (CMakeLists.txt): the headers of
// Debian's variants are identical, so a binary built against the OpenMP one but resolving libopenblas.so.0
// through the alternatives (the pthread one, by priority) would link and run, only with two thread pools
// fighting over the cores. openblas_get_parallel() asks the loaded library itself.
#include <catch2/catch.hpp>

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace ff {

#ifdef FF_OPENBLAS_PARALLEL
TEST_CASE("the OpenBLAS loaded at run time is the variant the build chose", "[matmul][openblas]") {
  INFO("openblas_get_parallel(): 0 sequential, 1 pthreads, 2 OpenMP; config: " << openblas_get_config());
  CHECK(openblas_get_parallel() == FF_OPENBLAS_PARALLEL);
}
#endif

// Called from inside an OpenMP parallel region (as batched kernels may do), the OpenMP variant runs each GEMM
// on the calling thread, concurrently with the others, each with its own buffers: every product must still
// be right. (Not the same bits as a call from outside, which splits the work over the team: both are
// compared with a double-precision product instead.)
TEST_CASE("OpenBLAS GEMMs inside an OpenMP parallel region are right", "[matmul][openblas]") {
  constexpr int n = 96, calls = 8;
  std::vector<float> a(n * n), b(n * n);
  for (int i = 0; i < n * n; ++i) {
    a[i] = float((i * 37) % 101) / 101.0f - 0.5f;
    b[i] = float((i * 53) % 97) / 97.0f - 0.5f;
  }
  std::vector<double> reference(n * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      double sum = 0;
      for (int k = 0; k < n; ++k) sum += double(a[i * n + k]) * double(b[k * n + j]);
      reference[i * n + j] = sum;
    }
  auto max_error = [&](const std::vector<float>& c) {
    double worst = 0;
    for (int i = 0; i < n * n; ++i) worst = std::max(worst, std::abs(double(c[i]) - reference[i]));
    return worst;
  };
  // float32 sums of 96 products of terms below 0.5: a few ulps of values up to about 3.
  constexpr double tolerance = 2e-5;
  std::vector<float> outside(n * n);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f,
              outside.data(), n);
  CHECK(max_error(outside) < tolerance);
  std::vector<std::vector<float>> inside(calls, std::vector<float>(n * n));
#pragma omp parallel for num_threads(2)
  for (int c = 0; c < calls; ++c)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f,
                inside[c].data(), n);
  for (int c = 0; c < calls; ++c) {
    INFO("call " << c);
    CHECK(max_error(inside[c]) < tolerance);
  }
}

}  // namespace ff
