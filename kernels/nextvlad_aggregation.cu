#include <cmath>

#include "kernels/cuda_context.h"
#include "kernels/instantiate.h"
#include "kernels/matmul.h"
#include "kernels/nextvlad_aggregation.h"

namespace ff::cuda {
namespace {

// The epilogues work on one video's [D, K] block (or [R, K] assignment) a tile of 32 clusters at a time:
// threadIdx.x is the cluster (consecutive lanes read consecutive k, coalesced), threadIdx.y walks the rows
// with stride kTileRows, and the kTileRows partial sums of a column meet in shared memory and are added in
// a fixed order, so results repeat bit for bit. Grid: (cluster tiles, videos) = 4 x 160 blocks at the
// default sizes. A tile's [D, 32] slice (32 KB at D = 256) stays in L1/L2 between the passes over it.
constexpr int kTileClusters = 32;
constexpr int kTileRows = 8;

template <class T>
struct ColumnTotals {
  T values[kTileRows][kTileClusters];
  // The sum of `value` over threadIdx.y for this thread's column, returned to every thread of the column.
  __device__ T total(T value) {
    values[threadIdx.y][threadIdx.x] = value;
    __syncthreads();
    T sum = T(0);
    for (int row = 0; row < kTileRows; ++row) sum += values[row][threadIdx.x];
    __syncthreads();  // the array is reused by the next total
    return sum;
  }
};

// vlad holds x^T a on entry: subtracts s * c, normalises each column, writes s and n.
template <class T>
__global__ void forward_epilogue_kernel(NeXtVladAggregationShape shape, const T* assignment, const T* centres,
                                        T epsilon, T* vlad, T* assignment_sum, T* norms) {
  __shared__ ColumnTotals<T> totals;
  const int64_t b = blockIdx.y, k = int64_t(blockIdx.x) * kTileClusters + threadIdx.x;
  const int64_t k_count = shape.clusters, d_count = shape.features;
  const bool active = k < k_count;
  const T* a = assignment + b * shape.rows * k_count;
  T* v = vlad + b * d_count * k_count;

  T partial = T(0);
  if (active)
    for (int64_t i = threadIdx.y; i < shape.rows; i += kTileRows) partial += a[i * k_count + k];
  const T s = totals.total(partial);

  T squares = T(0);
  if (active)
    for (int64_t d = threadIdx.y; d < d_count; d += kTileRows) {
      T r = v[d * k_count + k] - s * centres[d * k_count + k];
      squares += r * r;
    }
  const T squares_total = totals.total(squares);
  const T n = sqrt(squares_total > epsilon ? squares_total : epsilon);

  if (!active) return;
  for (int64_t d = threadIdx.y; d < d_count; d += kTileRows)
    v[d * k_count + k] = (v[d * k_count + k] - s * centres[d * k_count + k]) / n;
  if (threadIdx.y == 0) {
    assignment_sum[b * k_count + k] = s;
    norms[b * k_count + k] = n;
  }
}

// dr = (dv - v * sum_d(dv v)) / n and ds = -sum_d dr * c, per video and cluster.
template <class T>
__global__ void backward_residual_kernel(NeXtVladAggregationShape shape, const T* dvlad, const T* vlad,
                                         const T* norms, const T* centres, T clamp_norm, T* dresidual,
                                         T* dassignment_sum) {
  __shared__ ColumnTotals<T> totals;
  const int64_t b = blockIdx.y, k = int64_t(blockIdx.x) * kTileClusters + threadIdx.x;
  const int64_t k_count = shape.clusters, d_count = shape.features, block = d_count * k_count;
  const bool active = k < k_count;
  const T *dv = dvlad + b * block, *v = vlad + b * block;
  T* dr = dresidual + b * block;

  T dot = T(0);
  if (active)
    for (int64_t d = threadIdx.y; d < d_count; d += kTileRows) dot += dv[d * k_count + k] * v[d * k_count + k];
  const T dot_total = totals.total(dot);

  T centre_dot = T(0);
  if (active) {
    const T n = norms[b * k_count + k];
    const T correction = n <= clamp_norm ? T(0) : dot_total;
    for (int64_t d = threadIdx.y; d < d_count; d += kTileRows) {
      T g = (dv[d * k_count + k] - v[d * k_count + k] * correction) / n;
      dr[d * k_count + k] = g;
      centre_dot += g * centres[d * k_count + k];
    }
  }
  const T centre_total = totals.total(centre_dot);
  if (active && threadIdx.y == 0) dassignment_sum[b * k_count + k] = -centre_total;
}

// dc[d, k] = -sum_b s[b, k] dr[b, d, k], the videos added in order.
template <class T>
__global__ void centres_gradient_kernel(NeXtVladAggregationShape shape, const T* assignment_sum, const T* dresidual,
                                        T* dcentres) {
  const int64_t block = shape.features * shape.clusters;
  FF_CUDA_KERNEL_LOOP(e, block) {
    const int64_t k = e % shape.clusters;
    T total = T(0);
    for (int64_t b = 0; b < shape.batch; ++b)
      total += assignment_sum[b * shape.clusters + k] * dresidual[b * block + e];
    dcentres[e] = -total;
  }
}

// da[b, i, k] = ds[b, k]: the start the x dr GEMM adds onto.
template <class T>
__global__ void broadcast_rows_kernel(NeXtVladAggregationShape shape, const T* dassignment_sum, T* dassignment) {
  const int64_t per_video = shape.rows * shape.clusters;
  FF_CUDA_KERNEL_LOOP(e, shape.batch * per_video) {
    dassignment[e] = dassignment_sum[(e / per_video) * shape.clusters + e % shape.clusters];
  }
}

dim3 cluster_tile_grid(const NeXtVladAggregationShape& shape) {
  return dim3(unsigned((shape.clusters + kTileClusters - 1) / kTileClusters), unsigned(shape.batch));
}

}  // namespace

template <class T>
void nextvlad_aggregation_forward(const NeXtVladAggregationShape& shape, const T* assignment, const T* features,
                                  const T* centres, T epsilon, T* vlad, T* assignment_sum, T* norms) {
  if (shape.batch == 0 || shape.clusters == 0) return;
  // x^T a per video: [D, R] x [R, K] -> [B, D, K], cuBLAS strided-batched.
  GemmShape product;
  product.trans_a = true;
  product.m = shape.features;
  product.n = shape.clusters;
  product.k = shape.rows;
  product.batch = shape.batch;
  product.stride_a = shape.rows * shape.features;
  product.stride_b = shape.rows * shape.clusters;
  product.stride_c = shape.features * shape.clusters;
  gemm<T>(product, T(1), features, assignment, T(0), vlad);
  forward_epilogue_kernel<<<cluster_tile_grid(shape), dim3(kTileClusters, kTileRows), 0, current_stream()>>>(
      shape, assignment, centres, epsilon, vlad, assignment_sum, norms);
  FF_CUDA_CHECK_LAUNCH();
}

template <class T>
void nextvlad_aggregation_backward(const NeXtVladAggregationShape& shape, const T* dvlad, const T* vlad,
                                   const T* norms, const T* assignment_sum, const T* assignment, const T* features,
                                   const T* centres, T epsilon, T* dresidual, T* dassignment_sum, T* dassignment,
                                   T* dfeatures, T* dcentres) {
  if (shape.clusters == 0 || shape.features == 0) return;
  cudaStream_t stream = current_stream();
  const int64_t block = shape.features * shape.clusters;
  if (shape.batch > 0) {
    backward_residual_kernel<<<cluster_tile_grid(shape), dim3(kTileClusters, kTileRows), 0, stream>>>(
        shape, dvlad, vlad, norms, centres, T(sqrt(epsilon)), dresidual, dassignment_sum);
    FF_CUDA_CHECK_LAUNCH();
  }
  if (dcentres) {
    centres_gradient_kernel<<<blocks_for(block), kBlockSize, 0, stream>>>(shape, assignment_sum, dresidual, dcentres);
    FF_CUDA_CHECK_LAUNCH();
  }
  if (shape.batch == 0 || shape.rows == 0) return;
  if (dfeatures) {
    // a dr^T per video: [R, K] x [K, D].
    GemmShape product;
    product.trans_b = true;
    product.m = shape.rows;
    product.n = shape.features;
    product.k = shape.clusters;
    product.batch = shape.batch;
    product.stride_a = shape.rows * shape.clusters;
    product.stride_b = block;
    product.stride_c = shape.rows * shape.features;
    gemm<T>(product, T(1), assignment, dresidual, T(0), dfeatures);
  }
  if (dassignment) {
    // ds broadcast over the rows, then x dr per video ([R, D] x [D, K]) added onto it (beta = 1).
    broadcast_rows_kernel<<<blocks_for(shape.batch * shape.rows * shape.clusters), kBlockSize, 0, stream>>>(
        shape, dassignment_sum, dassignment);
    FF_CUDA_CHECK_LAUNCH();
    GemmShape product;
    product.m = shape.rows;
    product.n = shape.clusters;
    product.k = shape.features;
    product.batch = shape.batch;
    product.stride_a = shape.rows * shape.features;
    product.stride_b = block;
    product.stride_c = shape.rows * shape.clusters;
    gemm<T>(product, T(1), features, dresidual, T(1), dassignment);
  }
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_NEXTVLAD_AGGREGATION)

}  // namespace ff::cuda
