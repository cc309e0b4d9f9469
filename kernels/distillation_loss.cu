#include <cub/block/block_reduce.cuh>

#include "kernels/cuda_context.h"
#include "kernels/distillation_loss.h"
#include "kernels/instantiate.h"

namespace ff::cuda {
namespace {

constexpr int kThreads = 256;

// The five running sums of a row (or the three of the batch), reduced together by one CUB call.
template <class T>
struct Sums {
  T label, prediction, representation, student_norm, teacher_norm;
};

struct AddSums {
  template <class T>
  __device__ Sums<T> operator()(const Sums<T>& a, const Sums<T>& b) const {
    return {a.label + b.label, a.prediction + b.prediction, a.representation + b.representation,
            a.student_norm + b.student_norm, a.teacher_norm + b.teacher_norm};
  }
};

// One block per row: each thread strides over the row's classes and encoding, then the block reduces
// (CUB's fixed tree, so the same inputs give the same bits).
template <class T>
__global__ void row_kernel(DistillationLossOptions o, int64_t batch, int64_t classes, int64_t encoding,
                           const T* student_logits, const T* teacher_logits, const T* labels,
                           const T* student_encoding, const T* teacher_encoding, T* row_stats) {
  using BlockReduce = cub::BlockReduce<Sums<T>, kThreads>;
  __shared__ typename BlockReduce::TempStorage temp;
  const T inverse_temperature = T(1.0 / o.temperature);
  for (int64_t b = blockIdx.x; b < batch; b += gridDim.x) {
    Sums<T> s{T(0), T(0), T(0), T(0), T(0)};
    const int64_t row = b * classes;
    if (o.label_weight != 0)
      for (int64_t c = threadIdx.x; c < classes; c += kThreads)
        s.label += bce_with_logits_value(student_logits[row + c], labels[row + c]);
    if (o.prediction_weight != 0)
      for (int64_t c = threadIdx.x; c < classes; c += kThreads) {
        T zt = teacher_logits[row + c] * inverse_temperature, zs = student_logits[row + c] * inverse_temperature;
        switch (o.prediction) {
          case PredictionLossKind::CategoricalKL: {
            T st = bce_sigmoid(zt);
            s.teacher_norm += st;
            s.student_norm += bce_sigmoid(zs);
            s.prediction += st * (distillation_log_sigmoid(zt) - distillation_log_sigmoid(zs));
            break;
          }
          case PredictionLossKind::BernoulliKL: s.prediction += bernoulli_kl_value(zt, zs); break;
          case PredictionLossKind::SquaredError: {
            T d = bce_sigmoid(zt) - bce_sigmoid(zs);
            s.prediction += d * d;
            break;
          }
        }
      }
    if (o.representation_weight != 0)
      for (int64_t d = threadIdx.x; d < encoding; d += kThreads) {
        T difference = teacher_encoding[b * encoding + d] - student_encoding[b * encoding + d];
        s.representation += difference * difference;
      }
    Sums<T> total = BlockReduce(temp).Reduce(s, AddSums());
    if (threadIdx.x == 0) {
      T* out = row_stats + b * kDistillationRowStats;
      out[0] = total.label;
      out[1] = o.prediction_weight != 0 && o.prediction == PredictionLossKind::CategoricalKL
                   ? categorical_kl_from_sums(total.prediction, total.student_norm, total.teacher_norm)
                   : total.prediction;
      out[2] = total.representation;
      out[3] = total.student_norm;
      out[4] = total.teacher_norm;
    }
    __syncthreads();  // temp is reused by the next row
  }
}

// One block sums the rows: thread t takes rows t, t + kThreads, ... in order, then the block reduces.
template <class T>
__global__ void batch_kernel(DistillationLossOptions o, int64_t batch, const T* row_stats, T* terms) {
  using BlockReduce = cub::BlockReduce<Sums<T>, kThreads>;
  __shared__ typename BlockReduce::TempStorage temp;
  Sums<T> s{T(0), T(0), T(0), T(0), T(0)};
  for (int64_t b = threadIdx.x; b < batch; b += kThreads) {
    s.label += row_stats[b * kDistillationRowStats + 0];
    s.prediction += row_stats[b * kDistillationRowStats + 1];
    s.representation += row_stats[b * kDistillationRowStats + 2];
  }
  Sums<T> total = BlockReduce(temp).Reduce(s, AddSums());
  if (threadIdx.x == 0) {
    const double prediction_scale =
        o.prediction == PredictionLossKind::SquaredError ? 1.0 : o.temperature * o.temperature;
    T label = T(double(total.label) / double(batch));
    T prediction = T(double(total.prediction) * prediction_scale / double(batch));
    T representation = T(double(total.representation) / double(batch));
    terms[0] = T(o.label_weight * double(label) + o.prediction_weight * double(prediction) +
                 o.representation_weight * double(representation));
    terms[1] = label;
    terms[2] = prediction;
    terms[3] = representation;
  }
}

// Elementwise: every logit and encoding gradient from its inputs and its row's normalisers.
template <class T>
__global__ void backward_kernel(DistillationLossOptions o, int64_t batch, int64_t classes, int64_t encoding,
                                const T* student_logits, const T* teacher_logits, const T* labels,
                                const T* student_encoding, const T* teacher_encoding, const T* row_stats,
                                const T* dtotal, T* dstudent_logits, T* dstudent_encoding) {
  const double upstream = double(dtotal[0]) / double(batch);
  const T label_factor = T(upstream * o.label_weight);
  const T prediction_factor = T(upstream * o.prediction_weight);
  const T representation_factor = T(upstream * o.representation_weight);
  const T temperature = T(o.temperature), inverse_temperature = T(1.0 / o.temperature);
  if (dstudent_logits) {
    FF_CUDA_KERNEL_LOOP(i, batch * classes) {
      T g = T(0);
      if (o.label_weight != 0) g += label_factor * (bce_sigmoid(student_logits[i]) - labels[i]);
      if (o.prediction_weight != 0) {
        const T* stats = row_stats + (i / classes) * kDistillationRowStats;
        g += prediction_factor * prediction_gradient(o.prediction, temperature, teacher_logits[i] * inverse_temperature,
                                                     student_logits[i] * inverse_temperature, stats[3], stats[4]);
      }
      dstudent_logits[i] = g;
    }
  }
  if (dstudent_encoding) {
    FF_CUDA_KERNEL_LOOP(i, batch * encoding) {
      dstudent_encoding[i] = o.representation_weight != 0
                                 ? T(2) * representation_factor * (student_encoding[i] - teacher_encoding[i])
                                 : T(0);
    }
  }
}

}  // namespace

template <class T>
void distillation_loss_forward(const DistillationLossOptions& o, int64_t batch, int64_t classes, int64_t encoding,
                               const T* student_logits, const T* teacher_logits, const T* labels,
                               const T* student_encoding, const T* teacher_encoding, T* row_stats, T* terms) {
  if (batch == 0) return;
  unsigned blocks = unsigned(batch < 65535 ? batch : 65535);
  row_kernel<T><<<blocks, kThreads, 0, current_stream()>>>(o, batch, classes, encoding, student_logits,
                                                           teacher_logits, labels, student_encoding,
                                                           teacher_encoding, row_stats);
  FF_CUDA_CHECK_LAUNCH();
  batch_kernel<T><<<1, kThreads, 0, current_stream()>>>(o, batch, row_stats, terms);
  FF_CUDA_CHECK_LAUNCH();
}

template <class T>
void distillation_loss_backward(const DistillationLossOptions& o, int64_t batch, int64_t classes, int64_t encoding,
                                const T* student_logits, const T* teacher_logits, const T* labels,
                                const T* student_encoding, const T* teacher_encoding, const T* row_stats,
                                const T* dtotal, T* dstudent_logits, T* dstudent_encoding) {
  int64_t n = 0;
  if (dstudent_logits) n = batch * classes;
  if (dstudent_encoding && batch * encoding > n) n = batch * encoding;
  if (n == 0) return;
  backward_kernel<T><<<blocks_for(n), kBlockSize, 0, current_stream()>>>(
      o, batch, classes, encoding, student_logits, teacher_logits, labels, student_encoding, teacher_encoding,
      row_stats, dtotal, dstudent_logits, dstudent_encoding);
  FF_CUDA_CHECK_LAUNCH();
}

FF_FOR_FLOAT_TYPES(FF_INSTANTIATE_DISTILLATION_LOSS)

}  // namespace ff::cuda
