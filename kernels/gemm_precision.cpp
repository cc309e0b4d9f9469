// The process-wide GEMM precision of kernels/matmul.h. Compiled into every build, CUDA or not, so code that
// selects a precision needs no #if; only the CUDA GEMM reads it.
#include <atomic>

#include "kernels/matmul.h"

namespace ff {
namespace {
std::atomic<GemmPrecision> g_precision{GemmPrecision::Fp32};
}  // namespace

void set_gemm_precision(GemmPrecision precision) { g_precision.store(precision, std::memory_order_relaxed); }
GemmPrecision gemm_precision() { return g_precision.load(std::memory_order_relaxed); }

const char* gemm_precision_name(GemmPrecision precision) {
  switch (precision) {
    case GemmPrecision::Fp32: return "fp32";
    case GemmPrecision::Tf32: return "tf32";
    case GemmPrecision::Bf16: return "bf16";
  }
  return "unknown";
}

}  // namespace ff
