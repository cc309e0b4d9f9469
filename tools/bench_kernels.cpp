// `fewerframes bench kernels`: the engine's fused kernels against the machine they run on. It first
// measures the device's peaks in the same run (a device-to-device copy for memory bandwidth, a large GEMM
// per precision for compute; on the CPU a memcpy on every OpenMP thread and an OpenBLAS GEMM), then runs
// every family registered in tools/kernel_bench.h and reports, per kernel, time, GB/s, TFLOP/s and their
// fractions of those peaks. A fraction near 1 means the kernel is as fast as the device allows; a
// memory-bound kernel far below 1 has room left.

#include <fmt/core.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "engine/autograd.h"
#include "engine/device.h"
#include "engine/ops.h"
#include "engine/tensor.h"
#include "kernels/matmul.h"
#include "tools/command.h"
#include "tools/kernel_bench.h"
#include "tools/timing.h"

namespace ff::tools {
namespace {

struct KernelsOptions {
  std::string device;  // cpu or cuda; empty: cuda when a GPU is present, else cpu
  bool quick = false;
  bool json = false;
  int repeat = 0;  // 0: the device's default
  std::vector<std::string> families;  // empty: every registered family
};

constexpr int kDefaultCpuRepeats = 3;
constexpr int kDefaultCudaRepeats = 10;
constexpr int kMinimumPeakRepeats = 3;
constexpr uint64_t kInputSeed = 4321;

struct Peaks {
  double copy_bytes = 0;    // bytes copied (each counted once read and once written)
  double copy_gbps = 0;
  int64_t gemm_edge = 0;    // square GEMM edge
  std::map<std::string, double> gemm_tflops;  // by precision name
};

// GB/s of one copy of `bytes`: CUDA copies device to device (cudaMemcpyAsync); the CPU copies one chunk per
// OpenMP thread, since the CPU kernels run on every core.
double measure_copy_gbps(Device device, int64_t bytes, int repeats) {
  Tensor source = Tensor::full({bytes}, 1.0, DType::UInt8, device);
  Tensor target = Tensor::empty({bytes}, DType::UInt8, device);
  double ms = 0;
  if (device.is_cuda()) {
    ms = time_median_ms(device, repeats, [&] {
      target.copy_from(source);
      return target;  // time_median_ms keeps what the run returns until its interval ends
    });
  } else {
    const uint8_t* from = source.data<uint8_t>();
    uint8_t* to = target.data<uint8_t>();
    ms = time_median_ms(device, repeats, [&] {
#pragma omp parallel
      {
        const int64_t threads = omp_get_num_threads(), thread = omp_get_thread_num();
        const int64_t begin = bytes * thread / threads, end = bytes * (thread + 1) / threads;
        std::memcpy(to + begin, from + begin, size_t(end - begin));
      }
      return target;
    });
  }
  return 2.0 * double(bytes) / (ms * 1e6);
}

double measure_gemm_tflops(Device device, int64_t edge, GemmPrecision precision, int repeats) {
  GemmPrecisionScope scope(precision);
  Generator generator(kInputSeed);
  Tensor a = Tensor::uniform({edge, edge}, -1.0, 1.0, generator, DType::Float32, device);
  Tensor b = Tensor::uniform({edge, edge}, -1.0, 1.0, generator, DType::Float32, device);
  double ms = time_median_ms(device, repeats, [&] { return matmul(a, b); });
  return 2.0 * double(edge) * double(edge) * double(edge) / (ms * 1e9);
}

Peaks measure_peaks(Device device, bool quick, int kernel_repeats) {
  // Every fraction divides by these: a few runs at least, whatever --repeat asks of the kernels.
  const int repeats = std::max(kernel_repeats, kMinimumPeakRepeats);
  Peaks peaks;
  if (device.is_cuda()) {
    peaks.copy_bytes = double(quick ? int64_t(64) << 20 : int64_t(1) << 30);
    peaks.gemm_edge = quick ? 2048 : 8192;
  } else {
    peaks.copy_bytes = double(quick ? int64_t(64) << 20 : int64_t(256) << 20);
    peaks.gemm_edge = quick ? 1024 : 2048;
  }
  peaks.copy_gbps = measure_copy_gbps(device, int64_t(peaks.copy_bytes), repeats);
  fmt::print(stderr, "bench kernels: peak copy {:.1f} GB/s\n", peaks.copy_gbps);
  // The CPU computes every precision in float32 (kernels/matmul.h), so only fp32 has a peak there.
  std::vector<GemmPrecision> precisions = {GemmPrecision::Fp32};
  if (device.is_cuda()) precisions.insert(precisions.end(), {GemmPrecision::Tf32, GemmPrecision::Bf16});
  for (GemmPrecision precision : precisions) {
    double tflops = measure_gemm_tflops(device, peaks.gemm_edge, precision, repeats);
    peaks.gemm_tflops[gemm_precision_name(precision)] = tflops;
    fmt::print(stderr, "bench kernels: peak {} GEMM {:.2f} TFLOP/s\n", gemm_precision_name(precision), tflops);
  }
  return peaks;
}

struct Row {
  std::string family;
  KernelMeasurement measurement;
  double gbps = 0, tflops = 0;
  std::optional<double> memory_fraction, compute_fraction;
  bool measured() const { return measurement.unavailable.empty(); }
};

Row make_row(const std::string& family, const KernelMeasurement& m, const Peaks& peaks) {
  if (!m.unavailable.empty()) return Row{family, m, 0, 0, std::nullopt, std::nullopt};  // no time to check
  if (!(m.milliseconds > 0))
    throw std::runtime_error("bench kernels: family '" + family + "' reported a time of " +
                             std::to_string(m.milliseconds) + " ms for " + m.kernel);
  Row row;
  row.family = family;
  row.measurement = m;
  row.gbps = m.bytes / (m.milliseconds * 1e6);
  row.tflops = m.flops / (m.milliseconds * 1e9);
  if (m.bytes > 0 && peaks.copy_gbps > 0) row.memory_fraction = row.gbps / peaks.copy_gbps;
  const std::string precision = m.precision.empty() ? "fp32" : m.precision;
  auto peak = peaks.gemm_tflops.find(precision);
  if (m.flops > 0 && peak != peaks.gemm_tflops.end() && peak->second > 0)
    row.compute_fraction = row.tflops / peak->second;
  return row;
}

Device selected_device(const std::string& choice) {
  if (choice.empty()) return cuda_available() ? Device::cuda(0) : Device::cpu();
  if (choice == "cpu") return Device::cpu();
  if (!cuda_available())
    throw std::invalid_argument(std::string("--device cuda: no CUDA GPU is available") +
                                (cuda_compiled() ? "" : " (this build has no CUDA backend)"));
  return Device::cuda(0);
}

std::vector<KernelBenchFamily> selected_families(const std::vector<std::string>& names) {
  const std::vector<KernelBenchFamily>& registry = kernel_bench_registry();
  if (names.empty()) return registry;
  std::vector<KernelBenchFamily> chosen;
  for (const std::string& name : names) {
    auto found = std::find_if(registry.begin(), registry.end(), [&](const auto& f) { return f.name == name; });
    if (found == registry.end()) {
      std::string known;
      for (const KernelBenchFamily& f : registry) known += (known.empty() ? "" : ", ") + f.name;
      throw std::invalid_argument("--family: no kernel family named '" + name + "' (known: " + known + ")");
    }
    chosen.push_back(*found);
  }
  return chosen;
}

std::string device_description(Device device) {
  if (device.is_cuda()) return cuda_device_name(device.index);
  return fmt::format("CPU, {} OpenMP threads", omp_get_max_threads());
}

constexpr const char* kTimingNote =
    "median of the repeats after one warm-up run; GB/s counts each kernel's compulsory traffic, TFLOP/s "
    "its floating-point operations (multiply-add = 2); fractions are of the peaks measured in this run";

std::string fraction_text(const std::optional<double>& fraction) {
  return fraction ? fmt::format("{:.1f}%", 100.0 * *fraction) : std::string("-");
}

void print_table(Device device, int repeats, const Peaks& peaks, const std::vector<Row>& rows) {
  fmt::print("bench kernels on {} ({}): {}\n", device.str(), device_description(device), kTimingNote);
  fmt::print("  repeats {}\n  peak copy: {:.1f} GB/s ({:.0f} MiB)\n", repeats, peaks.copy_gbps,
             peaks.copy_bytes / double(1 << 20));
  for (const auto& [precision, tflops] : peaks.gemm_tflops)
    fmt::print("  peak {} GEMM: {:.2f} TFLOP/s ({}^3)\n", precision, tflops, peaks.gemm_edge);
  size_t family_width = 6, kernel_width = 6, shape_width = 5;
  for (const Row& r : rows) {
    family_width = std::max(family_width, r.family.size());
    kernel_width = std::max(kernel_width, r.measurement.kernel.size());
    shape_width = std::max(shape_width, r.measurement.shape.size());
  }
  fmt::print("\n{:<{}}  {:<{}}  {:<{}}  {:>10}  {:>9}  {:>8}  {:>8}  {:>8}\n", "family", family_width, "kernel",
             kernel_width, "shape", shape_width, "time ms", "GB/s", "TFLOP/s", "of copy", "of GEMM");
  // Kernels that did not run show n/a here and their reasons below, each reason once.
  std::vector<std::pair<std::string, std::vector<std::string>>> unavailable;
  for (const Row& r : rows) {
    if (!r.measured()) {
      fmt::print("{:<{}}  {:<{}}  {:<{}}  {:>10}  {:>9}  {:>8}  {:>8}  {:>8}\n", r.family, family_width,
                 r.measurement.kernel, kernel_width, r.measurement.shape, shape_width, "n/a", "-", "-", "-", "-");
      auto same = std::find_if(unavailable.begin(), unavailable.end(),
                               [&](const auto& u) { return u.first == r.measurement.unavailable; });
      if (same == unavailable.end()) same = unavailable.insert(unavailable.end(), {r.measurement.unavailable, {}});
      if (std::find(same->second.begin(), same->second.end(), r.measurement.kernel) == same->second.end())
        same->second.push_back(r.measurement.kernel);
      continue;
    }
    fmt::print("{:<{}}  {:<{}}  {:<{}}  {:>10.4f}  {:>9.1f}  {:>8.3f}  {:>8}  {:>8}\n", r.family, family_width,
               r.measurement.kernel, kernel_width, r.measurement.shape, shape_width, r.measurement.milliseconds,
               r.gbps, r.tflops, fraction_text(r.memory_fraction), fraction_text(r.compute_fraction));
  }
  for (const auto& [reason, kernels] : unavailable) {
    std::string names;
    for (const std::string& k : kernels) names += (names.empty() ? "" : ", ") + k;
    fmt::print("n/a ({}): {}\n", names, reason);
  }
}

void print_json(Device device, int repeats, bool quick, const Peaks& peaks, const std::vector<Row>& rows) {
  nlohmann::ordered_json out;
  out["device"] = device.str();
  out["device_name"] = device_description(device);
  out["repeats"] = repeats;
  out["quick"] = quick;
  out["timing"] = kTimingNote;
  out["peaks"] = {{"copy_gbps", peaks.copy_gbps},
                  {"copy_bytes", peaks.copy_bytes},
                  {"gemm_edge", peaks.gemm_edge},
                  {"gemm_tflops", peaks.gemm_tflops}};
  out["kernels"] = nlohmann::ordered_json::array();
  auto fraction = [](const std::optional<double>& f) { return f ? nlohmann::ordered_json(*f) : nlohmann::ordered_json(); };
  // A kernel that did not run has null times and rates and says why in "unavailable" (null otherwise).
  auto if_measured = [](const Row& r, double value) {
    return r.measured() ? nlohmann::ordered_json(value) : nlohmann::ordered_json();
  };
  for (const Row& r : rows) {
    const KernelMeasurement& m = r.measurement;
    out["kernels"].push_back({{"family", r.family},
                              {"kernel", m.kernel},
                              {"shape", m.shape},
                              {"precision", m.precision.empty() ? "fp32" : m.precision},
                              {"ms", if_measured(r, m.milliseconds)},
                              {"bytes", m.bytes},
                              {"flops", m.flops},
                              {"gbps", if_measured(r, r.gbps)},
                              {"tflops", if_measured(r, r.tflops)},
                              {"fraction_of_copy_peak", fraction(r.memory_fraction)},
                              {"fraction_of_gemm_peak", fraction(r.compute_fraction)},
                              {"unavailable", m.unavailable.empty() ? nlohmann::ordered_json()
                                                                    : nlohmann::ordered_json(m.unavailable)}});
  }
  std::cout << out.dump(2) << std::endl;
}

void run_bench_kernels(const KernelsOptions& options) {
  const Device device = selected_device(options.device);
  const std::vector<KernelBenchFamily> families = selected_families(options.families);
  const int repeats = options.repeat > 0 ? options.repeat : device.is_cuda() ? kDefaultCudaRepeats : kDefaultCpuRepeats;
  NoGradGuard no_grad;

  const Peaks peaks = measure_peaks(device, options.quick, repeats);
  KernelBenchContext context{device, repeats, options.quick};
  std::vector<Row> rows;
  for (const KernelBenchFamily& family : families) {
    fmt::print(stderr, "bench kernels: family {}\n", family.name);
    for (const KernelMeasurement& m : family.run(context)) {
      rows.push_back(make_row(family.name, m, peaks));
      const Row& r = rows.back();
      if (!r.measured()) {
        fmt::print(stderr, "bench kernels: {} {} {}: not measured: {}\n", family.name, m.kernel, m.shape,
                   m.unavailable);
        continue;
      }
      fmt::print(stderr, "bench kernels: {} {} {}: {:.4f} ms, {:.1f} GB/s, {:.3f} TFLOP/s\n", family.name, m.kernel,
                 m.shape, m.milliseconds, r.gbps, r.tflops);
    }
  }
  if (options.json)
    print_json(device, repeats, options.quick, peaks, rows);
  else
    print_table(device, repeats, peaks, rows);
}

CommandAction setup_bench_kernels(CLI::App& app) {
  auto options = std::make_shared<KernelsOptions>();
  app.add_option("--device", options->device, "cpu or cuda (default: cuda when a GPU is present, else cpu)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_flag("--quick", options->quick, "small sizes: a smoke run (a CPU run takes seconds)");
  app.add_flag("--json", options->json, "print one JSON object on stdout (progress stays on stderr)");
  app.add_option("--repeat", options->repeat, "timed runs per kernel (default: 3 on cpu, 10 on cuda)")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--family", options->families, "run only this kernel family (repeatable; default: all)");
  return [options] { run_bench_kernels(*options); };
}

const CommandRegistrar registrar({"bench kernels",
                                  "Time the fused kernels against the device's measured copy and GEMM peaks",
                                  setup_bench_kernels});

}  // namespace
}  // namespace ff::tools
