// Every op in the catalogue against central finite differences, in float64 on the CPU.
#include <catch2/catch.hpp>

#include "op_cases/gradient_check.h"
#include "op_cases/op_case.h"

namespace ff::test {

TEST_CASE("every op's backward matches central finite differences (float64, CPU)", "[ops][gradient]") {
  REQUIRE(op_cases().size() > 20);
  for (const OpCase& c : op_cases()) {
    for (uint64_t seed : {1u, 2u}) {
      GradientReport report = check_gradients(c, seed);
      INFO(c.name << " seed " << seed << ": worst at " << report.where);
      CHECK(report.finite);
      CHECK(report.max_error < 1e-6);
    }
  }
}

}  // namespace ff::test
