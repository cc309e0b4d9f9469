#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/instantiate.h"
#include "kernels/nextvlad_assignment.h"

namespace ff::cpu {
namespace {

// One (row, group) segment of K clusters: the softmax of its normalised logits, in double whatever T is
// (the reference is the more accurate side of a GPU comparison).
template <class T>
void segment_softmax(const NeXtVladAssignmentInputs<T>& in, int64_t r, int64_t g, std::vector<double>& p) {
  const int64_t k_count = in.clusters, base = g * k_count;
  double max_value = -INFINITY;
  for (int64_t k = 0; k < k_count; ++k) {
    p[size_t(k)] = double(nextvlad_assignment_logit(in, r, base + k));
    max_value = std::max(max_value, p[size_t(k)]);
  }
  double total = 0;
  for (int64_t k = 0; k < k_count; ++k) total += p[size_t(k)] = std::exp(p[size_t(k)] - max_value);
  for (int64_t k = 0; k < k_count; ++k) p[size_t(k)] /= total;
}

// sum_k dout * p over one segment.
template <class T>
double segment_dot(const T* dout_segment, const std::vector<double>& p, int64_t clusters) {
  double dot = 0;
  for (int64_t k = 0; k < clusters; ++k) dot += double(dout_segment[k]) * p[size_t(k)];
  return dot;
}

}  // namespace

template <class T>
void nextvlad_assignment_forward(const NeXtVladAssignmentInputs<T>& in, T* out) {
  const int64_t channels = in.channels();
#pragma omp parallel if (in.rows * channels > (1 << 15))
  {
    std::vector<double> p(size_t(in.clusters));
#pragma omp for
    for (int64_t r = 0; r < in.rows; ++r)
      for (int64_t g = 0; g < in.groups; ++g) {
        segment_softmax(in, r, g, p);
        double attention = double(nextvlad_group_attention(in, r, g)) * double(in.frame_mask[r]);
        T* o = out + r * channels + g * in.clusters;
        for (int64_t k = 0; k < in.clusters; ++k) o[k] = T(p[size_t(k)] * attention);
      }
  }
}

template <class T>
void nextvlad_assignment_backward_sums(const NeXtVladAssignmentInputs<T>& in, const T* dout, T* sum_dy,
                                       T* sum_dy_xhat) {
  const int64_t channels = in.channels();
  // A thread owns whole groups (disjoint channels) and walks the rows in order: the sums do not depend on
  // the number of threads.
#pragma omp parallel if (in.rows * channels > (1 << 15))
  {
    std::vector<double> p(size_t(in.clusters)), a(size_t(in.clusters)), b(size_t(in.clusters));
#pragma omp for
    for (int64_t g = 0; g < in.groups; ++g) {
      std::fill(a.begin(), a.end(), 0.0);
      std::fill(b.begin(), b.end(), 0.0);
      for (int64_t r = 0; r < in.rows; ++r) {
        segment_softmax(in, r, g, p);
        const T* d = dout + r * channels + g * in.clusters;
        double dot = segment_dot(d, p, in.clusters);
        double attention = double(nextvlad_group_attention(in, r, g)) * double(in.frame_mask[r]);
        for (int64_t k = 0; k < in.clusters; ++k) {
          int64_t c = g * in.clusters + k;
          double dy = attention * p[size_t(k)] * (double(d[k]) - dot);
          double xhat = (double(in.logits[r * channels + c]) - double(in.mean[c])) * double(in.rstd[c]);
          a[size_t(k)] += dy;
          b[size_t(k)] += dy * xhat;
        }
      }
      for (int64_t k = 0; k < in.clusters; ++k) {
        sum_dy[g * in.clusters + k] = T(a[size_t(k)]);
        sum_dy_xhat[g * in.clusters + k] = T(b[size_t(k)]);
      }
    }
  }
}

template <class T>
void nextvlad_assignment_backward(const NeXtVladAssignmentInputs<T>& in, const T* dout, const T* statistics_mask,
                                  const T* count, const T* sum_dy, const T* sum_dy_xhat, T* dlogits,
                                  T* dattention_logits) {
  const int64_t channels = in.channels();
#pragma omp parallel if (in.rows * channels > (1 << 15))
  {
    std::vector<double> p(size_t(in.clusters));
#pragma omp for
    for (int64_t r = 0; r < in.rows; ++r)
      for (int64_t g = 0; g < in.groups; ++g) {
        segment_softmax(in, r, g, p);
        const T* d = dout + r * channels + g * in.clusters;
        double dot = segment_dot(d, p, in.clusters);
        double sigmoid = double(nextvlad_group_attention(in, r, g)), mask = double(in.frame_mask[r]);
        if (dattention_logits) dattention_logits[r * in.groups + g] = T(dot * mask * sigmoid * (1 - sigmoid));
        if (!dlogits) continue;
        for (int64_t k = 0; k < in.clusters; ++k) {
          int64_t c = g * in.clusters + k, i = r * channels + c;
          T dy = T(sigmoid * mask * p[size_t(k)] * (double(d[k]) - dot));
          dlogits[i] = batch_norm_input_gradient(dy, in.logits[i], in.mean[c], in.rstd[c], in.gamma, statistics_mask,
                                                 count, sum_dy ? sum_dy[c] : T(0),
                                                 sum_dy_xhat ? sum_dy_xhat[c] : T(0), r, c);
        }
      }
  }
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_NEXTVLAD_ASSIGNMENT)

}  // namespace ff::cpu
