#include "tools/kernel_bench.h"

#include <utility>

namespace ff::tools {

std::vector<KernelBenchFamily>& kernel_bench_registry() {
  static std::vector<KernelBenchFamily> registry;  // constructed on first use: safe from static registrars
  return registry;
}

KernelBenchRegistrar::KernelBenchRegistrar(std::string name, KernelBenchFn run) {
  kernel_bench_registry().push_back({std::move(name), std::move(run)});
}

}  // namespace ff::tools
