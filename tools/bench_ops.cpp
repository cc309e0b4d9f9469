// `fewerframes bench ops`: throughput of the engine's ops at the sizes the NeXtVLAD model runs them, on the
// CPU and on CUDA. GEMMs report GFLOP/s (2*m*n*k per run); memory-bound ops report GB/s counting every
// byte read and written once, so they compare with the device's memory bandwidth.

#include <cblas.h>
#include <fmt/core.h>
#include <omp.h>

#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/device.h"
#include "engine/ops.h"
#include "engine/tensor.h"
#include "tools/command.h"
#include "tools/timing.h"

#if FF_WITH_CUDA
#include "kernels/cuda_context.h"
#endif

namespace ff::tools {
namespace {

struct OpsOptions {
  std::string device = "all";  // cpu, cuda, or all (cpu plus cuda when a GPU is present)
  bool json = false;
  int repeat = 0;  // 0: the device's default
  bool quick = false;
};

constexpr int kDefaultCpuRepeats = 3;
constexpr int kDefaultCudaRepeats = 10;
constexpr int kFramesPerVideo = 300;  // YouTube-8M videos: one frame per second, up to 300 seconds
constexpr uint64_t kInputSeed = 1234;

// The problem sizes of one device. The NeXtVLAD GEMMs use the model's widths (1024-d frame features,
// expanded to 2048; 36864 = the flattened VLAD descriptor feeding the 2048-wide hidden layer); only the
// number of rows (videos x frames) shrinks so a CPU run stays short.
struct OpsSizes {
  int64_t square = 0;         // square GEMM edge
  int64_t frame_videos = 0;   // videos whose 300 frames go through the frame-level GEMMs
  int64_t hidden_videos = 0;  // batch of the hidden fully connected layer
  int64_t vlad_width = 36864;
  Shape elementwise;  // for add and sigmoid
  Shape row_sum;      // summed along its last axis
  Shape frame_sum;    // [videos, frames, features] summed along frames
};

OpsSizes sizes_for(Device device, bool quick) {
  if (quick) return {256, 2, 16, 4608, {1 << 20}, {1024, 1024}, {16, 64, 1024}};
  if (device.is_cuda()) return {2048, 160, 160, 36864, {1 << 24}, {4096, 4096}, {64, 256, 1024}};
  return {1024, 16, 160, 36864, {1 << 24}, {4096, 4096}, {64, 256, 1024}};
}

enum class Rate { Gflops, Gbps };

// One measurement to take: `prepare` makes the inputs on a device and returns the timed operation.
struct OpCase {
  std::string op;
  std::string shape;
  Rate rate = Rate::Gflops;
  double work = 0;  // per run: floating-point operations (Gflops) or bytes read plus written (Gbps)
  std::function<std::function<Tensor()>(Device, Generator&)> prepare;
};

struct Measurement {
  std::string device;
  std::string op;
  std::string shape;
  double ms = 0;
  Rate rate = Rate::Gflops;
  double throughput = 0;  // GFLOP/s or GB/s
};

// "[4096x4096]", the way the GEMM shapes read.
std::string shape_text(const Shape& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? "x" : "") + std::to_string(shape[i]);
  return text + "]";
}

Tensor random_input(const Shape& shape, Device device, Generator& generator) {
  return Tensor::uniform(shape, -1.0, 1.0, generator, DType::Float32, device);
}

#if FF_WITH_CUDA
// Turns TF32 tensor-core GEMMs on for its lifetime and restores the previous setting.
class Tf32Scope {
 public:
  Tf32Scope() : previous_(cuda::tf32_enabled()) { cuda::set_tf32_enabled(true); }
  ~Tf32Scope() { cuda::set_tf32_enabled(previous_); }
  Tf32Scope(const Tf32Scope&) = delete;
  Tf32Scope& operator=(const Tf32Scope&) = delete;

 private:
  bool previous_;
};
#endif

OpCase matmul_case(const std::string& role, int64_t m, int64_t k, int64_t n, bool tf32) {
  OpCase c;
  c.op = "matmul " + role + (tf32 ? " tf32" : "");
  c.shape = shape_text({m, k}) + "x" + shape_text({k, n});
  c.rate = Rate::Gflops;
  c.work = 2.0 * double(m) * double(n) * double(k);
  c.prepare = [m, k, n, tf32](Device device, Generator& generator) -> std::function<Tensor()> {
    Tensor a = random_input({m, k}, device, generator);
    Tensor b = random_input({k, n}, device, generator);
#if FF_WITH_CUDA
    if (tf32)
      return [a, b] {
        Tf32Scope scope;
        return matmul(a, b);
      };
#else
    if (tf32) throw_no_cuda("matmul tf32");
#endif
    return [a, b] { return matmul(a, b); };
  };
  return c;
}

double float_bytes(int64_t elements) { return double(elements) * double(sizeof(float)); }

std::vector<OpCase> cases_for(Device device, bool quick) {
  OpsSizes s = sizes_for(device, quick);
  int64_t frame_rows = s.frame_videos * kFramesPerVideo;
  struct Gemm {
    std::string role;
    int64_t m, k, n;
  };
  std::vector<Gemm> gemms = {
      {"square", s.square, s.square, s.square},
      {"expansion", frame_rows, 1024, 2048},       // frame features -> expanded features
      {"cluster-logits", frame_rows, 2048, 1024},  // expanded features -> per-group cluster logits
      {"hidden-fc", s.hidden_videos, s.vlad_width, 2048},
  };
  std::vector<OpCase> cases;
  for (const Gemm& g : gemms) cases.push_back(matmul_case(g.role, g.m, g.k, g.n, false));
  if (device.is_cuda())
    for (const Gemm& g : gemms) cases.push_back(matmul_case(g.role, g.m, g.k, g.n, true));

  int64_t n = shape_numel(s.elementwise);
  cases.push_back({"add", shape_text(s.elementwise), Rate::Gbps, 3 * float_bytes(n),
                   [shape = s.elementwise](Device device, Generator& generator) -> std::function<Tensor()> {
                     Tensor a = random_input(shape, device, generator), b = random_input(shape, device, generator);
                     return [a, b] { return add(a, b); };
                   }});
  cases.push_back({"sigmoid", shape_text(s.elementwise), Rate::Gbps, 2 * float_bytes(n),
                   [shape = s.elementwise](Device device, Generator& generator) -> std::function<Tensor()> {
                     Tensor x = random_input(shape, device, generator);
                     return [x] { return sigmoid(x); };
                   }});
  // Softmax over K = 128 clusters per row, the shape of the soft-assignment.
  Shape softmax_shape{n / 128, 128};
  cases.push_back({"softmax", shape_text(softmax_shape), Rate::Gbps, 2 * float_bytes(n),
                   [softmax_shape](Device device, Generator& generator) -> std::function<Tensor()> {
                     Tensor x = random_input(softmax_shape, device, generator);
                     return [x] { return softmax(x); };
                   }});
  auto sum_case = [](const Shape& shape, int64_t axis) {
    Shape reduced = shape;
    reduced[size_t(axis)] = 1;
    return OpCase{"sum axis " + std::to_string(axis), shape_text(shape), Rate::Gbps,
                  float_bytes(shape_numel(shape)) + float_bytes(shape_numel(reduced)),
                  [shape, axis](Device device, Generator& generator) -> std::function<Tensor()> {
                    Tensor x = random_input(shape, device, generator);
                    return [x, axis] { return sum(x, {axis}); };
                  }};
  };
  cases.push_back(sum_case(s.row_sum, 1));
  cases.push_back(sum_case(s.frame_sum, 1));
  return cases;
}

std::vector<Device> selected_devices(const std::string& choice) {
  std::vector<Device> devices;
  if (choice == "cpu" || choice == "all") devices.push_back(Device::cpu());
  if (choice == "cuda" || (choice == "all" && cuda_available())) {
    if (!cuda_available())
      throw std::invalid_argument(std::string("--device cuda: no CUDA GPU is available") +
                                  (cuda_compiled() ? "" : " (this build has no CUDA backend)"));
    devices.push_back(Device::cuda(0));
  }
  return devices;
}

int repeats_for(Device device, const OpsOptions& options) {
  if (options.repeat > 0) return options.repeat;
  return device.is_cuda() ? kDefaultCudaRepeats : kDefaultCpuRepeats;
}

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    size_t start = line.find_first_not_of(" \t", colon + 1);
    return start == std::string::npos ? "unknown CPU" : line.substr(start);
  }
  return "unknown CPU";
}

// The threading model of the OpenBLAS actually loaded (CMakeLists.txt prefers the OpenMP one).
const char* blas_parallel_name() {
  switch (openblas_get_parallel()) {
    case 0: return "sequential";
    case 1: return "pthreads";
    case 2: return "OpenMP";
    default: return "unknown";
  }
}

nlohmann::ordered_json device_info(const std::vector<Device>& devices, const OpsOptions& options) {
  nlohmann::ordered_json info;
  for (Device device : devices) {
    if (device.is_cpu())
      info["cpu"] = {{"model", cpu_model()},
                     {"omp_threads", omp_get_max_threads()},
                     {"blas_threads", openblas_get_num_threads()},
                     {"blas_parallel", blas_parallel_name()},
                     {"repeats", repeats_for(device, options)}};
    else
      info[device.str()] = {{"name", cuda_device_name(device.index)}, {"repeats", repeats_for(device, options)}};
  }
  return info;
}

const char* rate_unit(Rate rate) { return rate == Rate::Gflops ? "GFLOP/s" : "GB/s"; }

constexpr const char* kTimingNote =
    "float32; median of the repeats after one warm-up run; each time includes allocating the output "
    "(CUDA: stream-ordered pool, cudaMallocAsync)";

void print_table(const nlohmann::ordered_json& info, const std::vector<Measurement>& results) {
  fmt::print("bench ops: {}\n", kTimingNote);
  for (const auto& [device, details] : info.items()) {
    if (device == "cpu")
      fmt::print("  cpu: {}, {} OpenMP threads, {} OpenBLAS threads ({}), {} repeats\n",
                 details["model"].get<std::string>(), details["omp_threads"].get<int>(),
                 details["blas_threads"].get<int>(), details["blas_parallel"].get<std::string>(),
                 details["repeats"].get<int>());
    else
      fmt::print("  {}: {}, {} repeats\n", device, details["name"].get<std::string>(), details["repeats"].get<int>());
  }
  size_t device_width = 6, op_width = 2, shape_width = 5;
  for (const Measurement& m : results) {
    device_width = std::max(device_width, m.device.size());
    op_width = std::max(op_width, m.op.size());
    shape_width = std::max(shape_width, m.shape.size());
  }
  fmt::print("\n{:<{}}  {:<{}}  {:<{}}  {:>10}  {:>10}\n", "device", device_width, "op", op_width, "shape", shape_width,
             "time ms", "rate");
  for (const Measurement& m : results)
    fmt::print("{:<{}}  {:<{}}  {:<{}}  {:>10.3f}  {:>10.1f} {}\n", m.device, device_width, m.op, op_width, m.shape,
               shape_width, m.ms, m.throughput, rate_unit(m.rate));
}

void print_json(const nlohmann::ordered_json& info, const std::vector<Measurement>& results) {
  nlohmann::ordered_json out;
  out["device_info"] = info;
  out["timing"] = kTimingNote;
  out["results"] = nlohmann::ordered_json::array();
  for (const Measurement& m : results)
    out["results"].push_back({{"device", m.device},
                              {"op", m.op},
                              {"shape", m.shape},
                              {"ms", m.ms},
                              {m.rate == Rate::Gflops ? "gflops" : "gbps", m.throughput}});
  std::cout << out.dump(2) << std::endl;
}

void run_bench_ops(const OpsOptions& options) {
  std::vector<Device> devices = selected_devices(options.device);
  nlohmann::ordered_json info = device_info(devices, options);
  NoGradGuard no_grad;

  std::vector<std::pair<Device, OpCase>> plan;
  for (Device device : devices)
    for (OpCase& c : cases_for(device, options.quick)) plan.emplace_back(device, std::move(c));

  std::vector<Measurement> results;
  for (size_t i = 0; i < plan.size(); ++i) {
    const auto& [device, c] = plan[i];
    Generator generator(kInputSeed);
    double ms = 0;
    {
      std::function<Tensor()> op = c.prepare(device, generator);  // inputs live until the end of this block
      ms = time_median_ms(device, repeats_for(device, options), op);
    }
    Measurement m{device.str(), c.op, c.shape, ms, c.rate, c.work / (ms * 1e6)};
    fmt::print(stderr, "bench ops [{}/{}] {} {} {}: {:.3f} ms, {:.1f} {}\n", i + 1, plan.size(), m.device, m.op,
               m.shape, m.ms, m.throughput, rate_unit(m.rate));
    results.push_back(std::move(m));
  }

  if (options.json)
    print_json(info, results);
  else
    print_table(info, results);
}

// Declares the options; the returned action runs after a successful parse and reads them.
CommandAction setup_bench_ops(CLI::App& app) {
  auto options = std::make_shared<OpsOptions>();  // shared: outlives this function, owned by the action
  app.add_option("--device", options->device, "cpu, cuda, or all (cpu plus cuda when a GPU is present)")
      ->check(CLI::IsMember({"cpu", "cuda", "all"}))
      ->capture_default_str();
  app.add_flag("--json", options->json, "print one JSON object on stdout (progress stays on stderr)");
  app.add_option("--repeat", options->repeat, "timed runs per measurement (default: 3 on cpu, 10 on cuda)")
      ->check(CLI::Range(1, 1000000));
  app.add_flag("--quick", options->quick, "small sizes: a CPU run takes seconds");
  return [options] { run_bench_ops(*options); };
}

const CommandRegistrar registrar({"bench ops", "Measure GEMM GFLOP/s and elementwise/reduction GB/s on CPU and CUDA",
                                  setup_bench_ops});

}  // namespace
}  // namespace ff::tools
