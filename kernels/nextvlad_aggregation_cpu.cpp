#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/instantiate.h"
#include "kernels/matmul.h"
#include "kernels/nextvlad_aggregation.h"

namespace ff::cpu {

// The products go through the same GEMM as the matmul op (OpenBLAS); the epilogues sum in double whatever
// T is, so the reference is the more accurate side of a GPU comparison.

template <class T>
void nextvlad_aggregation_forward(const NeXtVladAggregationShape& shape, const T* assignment, const T* features,
                                  const T* centres, T epsilon, T* vlad, T* assignment_sum, T* norms) {
  const int64_t rows = shape.rows, k_count = shape.clusters, d_count = shape.features;
  // x^T a per video: [D, R] x [R, K] -> [B, D, K].
  GemmShape product;
  product.trans_a = true;
  product.m = d_count;
  product.n = k_count;
  product.k = rows;
  product.batch = shape.batch;
  product.stride_a = rows * d_count;
  product.stride_b = rows * k_count;
  product.stride_c = d_count * k_count;
  gemm<T>(product, T(1), features, assignment, T(0), vlad);

#pragma omp parallel if (shape.batch * rows * k_count > (1 << 15))
  {
    std::vector<double> sums(static_cast<size_t>(k_count)), squares(static_cast<size_t>(k_count));
#pragma omp for
    for (int64_t b = 0; b < shape.batch; ++b) {
      std::fill(sums.begin(), sums.end(), 0.0);
      std::fill(squares.begin(), squares.end(), 0.0);
      const T* a = assignment + b * rows * k_count;
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t k = 0; k < k_count; ++k) sums[size_t(k)] += double(a[i * k_count + k]);
      T* v = vlad + b * d_count * k_count;
      for (int64_t d = 0; d < d_count; ++d)
        for (int64_t k = 0; k < k_count; ++k) {
          double r = double(v[d * k_count + k]) - sums[size_t(k)] * double(centres[d * k_count + k]);
          v[d * k_count + k] = T(r);
          squares[size_t(k)] += r * r;
        }
      for (int64_t k = 0; k < k_count; ++k) {
        assignment_sum[b * k_count + k] = T(sums[size_t(k)]);
        norms[b * k_count + k] = T(std::sqrt(std::max(squares[size_t(k)], double(epsilon))));
      }
      for (int64_t d = 0; d < d_count; ++d)
        for (int64_t k = 0; k < k_count; ++k) v[d * k_count + k] /= norms[b * k_count + k];
    }
  }
}

template <class T>
void nextvlad_aggregation_backward(const NeXtVladAggregationShape& shape, const T* dvlad, const T* vlad,
                                   const T* norms, const T* assignment_sum, const T* assignment, const T* features,
                                   const T* centres, T epsilon, T* dresidual, T* dassignment_sum, T* dassignment,
                                   T* dfeatures, T* dcentres) {
  const int64_t rows = shape.rows, k_count = shape.clusters, d_count = shape.features;
  const int64_t block = d_count * k_count;
  const T clamp_norm = T(std::sqrt(double(epsilon)));

  // dr and ds, per video.
#pragma omp parallel if (shape.batch * block > (1 << 15))
  {
    std::vector<double> dots(static_cast<size_t>(k_count)), centre_dots(static_cast<size_t>(k_count));
#pragma omp for
    for (int64_t b = 0; b < shape.batch; ++b) {
      std::fill(dots.begin(), dots.end(), 0.0);
      std::fill(centre_dots.begin(), centre_dots.end(), 0.0);
      const T *dv = dvlad + b * block, *v = vlad + b * block, *n = norms + b * k_count;
      T* dr = dresidual + b * block;
      for (int64_t d = 0; d < d_count; ++d)
        for (int64_t k = 0; k < k_count; ++k)
          dots[size_t(k)] += double(dv[d * k_count + k]) * double(v[d * k_count + k]);
      for (int64_t d = 0; d < d_count; ++d)
        for (int64_t k = 0; k < k_count; ++k) {
          double correction = n[k] <= clamp_norm ? 0.0 : dots[size_t(k)];
          double g = (double(dv[d * k_count + k]) - double(v[d * k_count + k]) * correction) / double(n[k]);
          dr[d * k_count + k] = T(g);
          centre_dots[size_t(k)] += g * double(centres[d * k_count + k]);
        }
      for (int64_t k = 0; k < k_count; ++k) dassignment_sum[b * k_count + k] = T(-centre_dots[size_t(k)]);
    }
  }

  if (dcentres) {
#pragma omp parallel for if (shape.batch * block > (1 << 15))
    for (int64_t e = 0; e < block; ++e) {
      double total = 0;
      for (int64_t b = 0; b < shape.batch; ++b)
        total += double(assignment_sum[b * k_count + e % k_count]) * double(dresidual[b * block + e]);
      dcentres[e] = T(-total);
    }
  }
  if (dfeatures) {
    // a dr^T per video: [R, K] x [K, D].
    GemmShape product;
    product.trans_b = true;
    product.m = rows;
    product.n = d_count;
    product.k = k_count;
    product.batch = shape.batch;
    product.stride_a = rows * k_count;
    product.stride_b = block;
    product.stride_c = rows * d_count;
    gemm<T>(product, T(1), assignment, dresidual, T(0), dfeatures);
  }
  if (dassignment) {
    // ds broadcast over the rows, then x dr per video ([R, D] x [D, K]) added onto it.
#pragma omp parallel for if (shape.batch * rows * k_count > (1 << 15))
    for (int64_t b = 0; b < shape.batch; ++b)
      for (int64_t i = 0; i < rows; ++i)
        std::copy(dassignment_sum + b * k_count, dassignment_sum + (b + 1) * k_count,
                  dassignment + (b * rows + i) * k_count);
    GemmShape product;
    product.m = rows;
    product.n = k_count;
    product.k = d_count;
    product.batch = shape.batch;
    product.stride_a = rows * d_count;
    product.stride_b = block;
    product.stride_c = rows * k_count;
    gemm<T>(product, T(1), features, dresidual, T(1), dassignment);
  }
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_NEXTVLAD_AGGREGATION)

}  // namespace ff::cpu
