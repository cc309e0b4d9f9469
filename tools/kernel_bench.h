// The registry of `fewerframes bench kernels`: each family of kernels (NeXtVLAD assignment and aggregation,
// the distillation losses, dequantize+gather, ...) registers a function that times its kernels on one device
// and returns one measurement per kernel and problem size. The command runs every registered family and
// reports time, GB/s, TFLOP/s and their fractions of the peaks it measures in the same run (a device-to-device
// copy and a large GEMM), so a new family needs no edit of the command:
//
//   namespace {  // in tools/bench_kernels_losses.cpp
//   std::vector<ff::tools::KernelMeasurement> bench_losses(const ff::tools::KernelBenchContext& context) { ... }
//   const ff::tools::KernelBenchRegistrar registrar("losses", bench_losses);
//   }
//
// Bytes count every byte a kernel must read and write once (its compulsory traffic, not what it happens to
// move); flops count multiply-adds as 2. A measurement with bytes == 0 or flops == 0 has no such fraction.
// A kernel the family cannot run here (a library missing on this machine, say) is still reported, with
// `unavailable` saying why and no time: the run goes on, and the report shows what was not measured.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/device.h"

namespace ff::tools {

struct KernelBenchContext {
  Device device;
  int repeats = 10;    // timed runs per kernel (median reported); see tools/timing.h
  bool quick = false;  // small sizes: a smoke run (tests, CPU)
};

struct KernelMeasurement {
  std::string kernel;  // "nextvlad_assignment_forward"
  std::string shape;   // the problem size in words: "B=160 M=300 G=8 K=128"
  double milliseconds = 0.0;
  double bytes = 0.0;  // compulsory traffic of one run
  double flops = 0.0;  // floating-point operations of one run
  // The GEMM precision whose measured peak the flops compare with ("tf32", "bf16"); empty means fp32.
  std::string precision;
  // Non-empty: the kernel did not run, for this reason; milliseconds is then ignored.
  std::string unavailable;
};

using KernelBenchFn = std::function<std::vector<KernelMeasurement>(const KernelBenchContext&)>;

struct KernelBenchFamily {
  std::string name;  // "losses"
  KernelBenchFn run;
};

// Every registered family, in registration order (unspecified across files).
std::vector<KernelBenchFamily>& kernel_bench_registry();

struct KernelBenchRegistrar {
  KernelBenchRegistrar(std::string name, KernelBenchFn run);
};

}  // namespace ff::tools
