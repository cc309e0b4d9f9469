// The "nextvlad" family of `fewerframes bench kernels`, found through the registry and run on the CPU in
// its quick sizes: every fused kernel measured, forward and backward, with its traffic and GEMM work.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>
#include <string>

#include "tools/kernel_bench.h"

namespace ff::tools {

TEST_CASE("bench kernels: the nextvlad family measures the fused kernels", "[bench][nextvlad]") {
  const KernelBenchFamily* family = nullptr;
  for (const KernelBenchFamily& f : kernel_bench_registry())
    if (f.name == "nextvlad") family = &f;
  REQUIRE(family != nullptr);

  KernelBenchContext context{Device::cpu(), 1, true};
  std::vector<KernelMeasurement> measurements = family->run(context);
  REQUIRE(measurements.size() == 8);  // 4 kernels x (teacher, student)
  std::set<std::string> kernels;
  for (const KernelMeasurement& m : measurements) {
    INFO(m.kernel << " " << m.shape);
    kernels.insert(m.kernel);
    CHECK(m.shape.find("B=2 M=") == 0);
    CHECK(std::isfinite(m.milliseconds));
    CHECK(m.milliseconds > 0);
    CHECK(m.bytes > 0);
    // Only the aggregation does GEMM work; the assignment is elementwise.
    CHECK((m.flops > 0) == (m.kernel.find("aggregation") != std::string::npos));
  }
  CHECK(kernels == std::set<std::string>{"nextvlad_assignment_forward", "nextvlad_assignment_backward",
                                         "nextvlad_aggregation_forward", "nextvlad_aggregation_backward"});
  // The teacher (12 frames here) moves more than the student (3): same kernel, rows x 4.
  CHECK(measurements[0].kernel == measurements[4].kernel);
  CHECK(measurements[0].bytes > 3 * measurements[4].bytes);
  // Forward x^T a is 2*B*R*K*D; the backward has two GEMMs of that size.
  CHECK(measurements[2].flops == Approx(2.0 * 2 * 12 * 4 * 32 * 16));
  CHECK(measurements[3].flops == Approx(2 * measurements[2].flops));
}

}  // namespace ff::tools
