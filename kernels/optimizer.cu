// Fused multi-tensor optimizer updates: the whole parameter list in at most three launches.
//   1. chunk_sum_of_squares_kernel: each block sums (grad + l2 * param)^2 over one slice of one chunk
//      into its own partial (no atomics);
//   2. clip_scales_kernel: each tensor adds its partials in index order (deterministic) and turns the sum
//      into its tf.clip_by_norm factor;
//   3. update_kernel: each block updates one slice of one chunk with its tensor's factor.
// Without clipping only the update runs. The chunk table (which tensor, where in it) lives in device memory
// and is kept in the workspace while the tensor sizes stay the same; the per-tensor table (pointers, l2) is
// uploaded again only when a pointer changes, which for gradients reallocated each step by the stream
// pool is rare.
#include <cub/block/block_reduce.cuh>

#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cuda_context.h"
#include "kernels/optimizer.h"

namespace ff::cuda {
namespace {

constexpr int64_t kChunkElements = int64_t(1) << 16;
// A chunk is split over several blocks so that even a small model keeps every SM busy.
constexpr int kSlicesPerChunk = 16;
constexpr int64_t kSliceElements = kChunkElements / kSlicesPerChunk;
constexpr int kThreads = 256;

// One tensor as the kernels see it: Adam's m and v, or momentum's accumulator (second_state unused).
struct DeviceTensor {
  float* param;
  const float* grad;
  float* first_state;
  float* second_state;
  int64_t n;
  float l2;

  bool operator==(const DeviceTensor& o) const {
    return param == o.param && grad == o.grad && first_state == o.first_state && second_state == o.second_state &&
           n == o.n && l2 == o.l2;
  }
};

struct Chunk {
  int64_t tensor;
  int64_t start;  // the chunk covers [start, min(start + kChunkElements, n)) of its tensor
};

// The device memory of one workspace: one allocation split into the tables and the scratch.
struct Plan {
  int device = -1;
  cudaStream_t stream = nullptr;
  std::vector<int64_t> sizes;            // the layout the chunk table was built for
  std::vector<DeviceTensor> uploaded;    // the per-tensor table as it is on the device
  int64_t chunk_count = 0;
  void* buffer = nullptr;
  DeviceTensor* tensors = nullptr;       // [tensor count]
  Chunk* chunks = nullptr;               // [chunk_count]
  int64_t* first_chunk = nullptr;        // [tensor count + 1]: tensor t owns chunks [first_chunk[t], first_chunk[t+1])
  double* partials = nullptr;            // [chunk_count * kSlicesPerChunk]
  float* scales = nullptr;               // [tensor count]

  Plan() = default;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;
  // cudaFree waits for queued kernels that still read the tables. At process exit the runtime may already
  // be gone; there is nothing left to release then, so the status is not checked.
  ~Plan() {
    if (buffer) (void)cudaFree(buffer);
  }
};

__device__ inline int64_t slice_begin(const Chunk& chunk) { return chunk.start + int64_t(blockIdx.y) * kSliceElements; }
__device__ inline int64_t slice_end(const Chunk& chunk, int64_t n) {
  int64_t end = chunk.start + (int64_t(blockIdx.y) + 1) * kSliceElements;
  return end < n ? end : n;
}

__global__ void chunk_sum_of_squares_kernel(const DeviceTensor* tensors, const Chunk* chunks, double* partials) {
  using BlockReduce = cub::BlockReduce<double, kThreads>;
  __shared__ typename BlockReduce::TempStorage temp;
  const Chunk chunk = chunks[blockIdx.x];
  const DeviceTensor t = tensors[chunk.tensor];
  double acc = 0;
  for (int64_t i = slice_begin(chunk) + threadIdx.x, end = slice_end(chunk, t.n); i < end; i += kThreads) {
    double g = double(regularized_gradient(t.grad[i], t.param[i], t.l2));
    acc += g * g;
  }
  double total = BlockReduce(temp).Sum(acc);
  if (threadIdx.x == 0) partials[int64_t(blockIdx.x) * kSlicesPerChunk + blockIdx.y] = total;
}

__global__ void clip_scales_kernel(const int64_t* first_chunk, int64_t count, const double* partials, float clip_norm,
                                   float* scales) {
  FF_CUDA_KERNEL_LOOP(t, count) {
    double sum = 0;
    for (int64_t p = first_chunk[t] * kSlicesPerChunk, end = first_chunk[t + 1] * kSlicesPerChunk; p < end; ++p)
      sum += partials[p];
    scales[t] = clip_scale(sum, clip_norm);
  }
}

struct AdamRule {
  AdamHyperParameters hyper;
  __device__ void operator()(const DeviceTensor& t, int64_t i, float g) const {
    adam_update_element(t.param[i], t.first_state[i], t.second_state[i], g, hyper);
  }
};

struct MomentumRule {
  MomentumHyperParameters hyper;
  __device__ void operator()(const DeviceTensor& t, int64_t i, float g) const {
    momentum_update_element(t.param[i], t.first_state[i], g, hyper);
  }
};

// scales == nullptr: no clipping.
template <class Rule>
__global__ void update_kernel(const DeviceTensor* tensors, const Chunk* chunks, const float* scales, Rule rule) {
  const Chunk chunk = chunks[blockIdx.x];
  const DeviceTensor t = tensors[chunk.tensor];
  const float scale = scales ? scales[chunk.tensor] : 1.0f;
  for (int64_t i = slice_begin(chunk) + threadIdx.x, end = slice_end(chunk, t.n); i < end; i += kThreads)
    rule(t, i, regularized_gradient(t.grad[i], t.param[i], t.l2) * scale);
}

size_t aligned(size_t bytes) { return (bytes + 255) / 256 * 256; }

std::shared_ptr<Plan> build_plan(const std::vector<DeviceTensor>& table, int device, cudaStream_t stream) {
  auto plan = std::make_shared<Plan>();
  plan->device = device;
  plan->stream = stream;
  const size_t count = table.size();
  std::vector<Chunk> chunks;
  std::vector<int64_t> first_chunk(count + 1);
  for (size_t t = 0; t < count; ++t) {
    if (table[t].n < 0) throw std::invalid_argument("optimizer update: tensor " + std::to_string(t) + " has a negative size");
    plan->sizes.push_back(table[t].n);
    first_chunk[t] = int64_t(chunks.size());
    for (int64_t start = 0; start < table[t].n; start += kChunkElements) chunks.push_back(Chunk{int64_t(t), start});
  }
  first_chunk[count] = int64_t(chunks.size());
  plan->chunk_count = int64_t(chunks.size());
  if (plan->chunk_count > int64_t(0x7fffffff))
    throw std::invalid_argument("optimizer update: " + std::to_string(plan->chunk_count) + " chunks exceed the grid");

  const size_t tensors_bytes = aligned(count * sizeof(DeviceTensor));
  const size_t chunks_bytes = aligned(chunks.size() * sizeof(Chunk));
  const size_t first_bytes = aligned((count + 1) * sizeof(int64_t));
  const size_t partials_bytes = aligned(chunks.size() * kSlicesPerChunk * sizeof(double));
  const size_t scales_bytes = aligned(count * sizeof(float));
  FF_CUDA_CHECK(cudaMalloc(&plan->buffer, tensors_bytes + chunks_bytes + first_bytes + partials_bytes + scales_bytes));
  char* base = static_cast<char*>(plan->buffer);
  plan->tensors = reinterpret_cast<DeviceTensor*>(base);
  plan->chunks = reinterpret_cast<Chunk*>(base + tensors_bytes);
  plan->first_chunk = reinterpret_cast<int64_t*>(base + tensors_bytes + chunks_bytes);
  plan->partials = reinterpret_cast<double*>(base + tensors_bytes + chunks_bytes + first_bytes);
  plan->scales = reinterpret_cast<float*>(base + tensors_bytes + chunks_bytes + first_bytes + partials_bytes);
  // Scratch starts as NaN: a partial or a factor the kernels failed to write cannot pass unnoticed.
  FF_CUDA_CHECK(cudaMemsetAsync(plan->partials, 0xFF, partials_bytes + scales_bytes, stream));
  // Pageable sources are staged before cudaMemcpyAsync returns, so the host vectors may go right after.
  FF_CUDA_CHECK(cudaMemcpyAsync(plan->chunks, chunks.data(), chunks.size() * sizeof(Chunk), cudaMemcpyHostToDevice,
                                stream));
  FF_CUDA_CHECK(cudaMemcpyAsync(plan->first_chunk, first_chunk.data(), first_chunk.size() * sizeof(int64_t),
                                cudaMemcpyHostToDevice, stream));
  return plan;
}

// The workspace's plan for this table on the current device and stream, tables up to date on the device.
Plan& prepare_plan(MultiTensorWorkspace& workspace, const std::vector<DeviceTensor>& table) {
  int device = 0;
  FF_CUDA_CHECK(cudaGetDevice(&device));
  cudaStream_t stream = current_stream();
  auto plan = std::static_pointer_cast<Plan>(workspace.state);
  bool layout_matches = plan && plan->device == device && plan->stream == stream && plan->sizes.size() == table.size();
  for (size_t t = 0; layout_matches && t < table.size(); ++t) layout_matches = plan->sizes[t] == table[t].n;
  if (!layout_matches) {
    workspace.state.reset();
    plan.reset();  // frees the old tables (after their last kernels) before allocating new ones
    plan = build_plan(table, device, stream);
    workspace.state = plan;
  }
  if (plan->uploaded != table) {
    // Ordered on the stream after the kernels of the previous step that read the old table.
    FF_CUDA_CHECK(cudaMemcpyAsync(plan->tensors, table.data(), table.size() * sizeof(DeviceTensor),
                                  cudaMemcpyHostToDevice, stream));
    plan->uploaded = table;
  }
  return *plan;
}

template <class Rule>
void run_multi_tensor(const std::vector<DeviceTensor>& table, float clip_norm, const Rule& rule,
                      MultiTensorWorkspace& workspace) {
  bool any_elements = false;
  for (const DeviceTensor& t : table) any_elements = any_elements || t.n > 0;
  if (!any_elements) return;
  Plan& plan = prepare_plan(workspace, table);
  const dim3 grid(unsigned(plan.chunk_count), kSlicesPerChunk);
  const float* scales = nullptr;
  if (clip_norm > 0.0f) {
    chunk_sum_of_squares_kernel<<<grid, kThreads, 0, plan.stream>>>(plan.tensors, plan.chunks, plan.partials);
    FF_CUDA_CHECK_LAUNCH();
    const int64_t count = int64_t(table.size());
    clip_scales_kernel<<<blocks_for(count), kBlockSize, 0, plan.stream>>>(plan.first_chunk, count, plan.partials,
                                                                           clip_norm, plan.scales);
    FF_CUDA_CHECK_LAUNCH();
    scales = plan.scales;
  }
  update_kernel<<<grid, kThreads, 0, plan.stream>>>(plan.tensors, plan.chunks, scales, rule);
  FF_CUDA_CHECK_LAUNCH();
}

}  // namespace

void adam_update(const AdamTensor* tensors, int64_t count, const AdamHyperParameters& hyper,
                 MultiTensorWorkspace& workspace) {
  std::vector<DeviceTensor> table(size_t(count < 0 ? 0 : count));
  for (size_t i = 0; i < table.size(); ++i) {
    const AdamTensor& t = tensors[i];
    table[i] = DeviceTensor{t.param, t.grad, t.m, t.v, t.n, t.l2};
  }
  run_multi_tensor(table, hyper.clip_norm, AdamRule{hyper}, workspace);
}

void momentum_update(const MomentumTensor* tensors, int64_t count, const MomentumHyperParameters& hyper,
                     MultiTensorWorkspace& workspace) {
  std::vector<DeviceTensor> table(size_t(count < 0 ? 0 : count));
  for (size_t i = 0; i < table.size(); ++i) {
    const MomentumTensor& t = tensors[i];
    table[i] = DeviceTensor{t.param, t.grad, t.accumulator, nullptr, t.n, t.l2};
  }
  run_multi_tensor(table, hyper.clip_norm, MomentumRule{hyper}, workspace);
}

}  // namespace ff::cuda
