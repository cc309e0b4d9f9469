// The "losses" family of `fewerframes bench kernels`: the fused distillation loss (kernels/
// distillation_loss.h), forward and backward, at the original batch (160) and a large one (1024), with
// YouTube-8M's 3862 classes and the default model's encoding width; and, for comparison, the same three
// losses as separate engine ops (models/distillation_losses.h), which is what the fused kernel replaced.
// The kernels are memory-bound: they report GB/s of compulsory traffic and no FLOP count.
#include <fmt/core.h>

#include <vector>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "models/distillation_losses.h"
#include "models/nextvlad_config.h"
#include "tools/kernel_bench.h"
#include "tools/timing.h"

namespace ff::tools {
namespace {

// The width of the concatenated VLAD encodings of the default model: K*lambda*N_rgb/G for rgb plus
// (K/2)*lambda*N_audio/(G/2) for audio (models/nextvlad.h), 32768 + 4096.
int64_t default_encoding_size() {
  NeXtVladConfig c;
  return c.cluster_size * c.expansion * c.rgb_feature_size / c.groups +
         (c.cluster_size / 2) * c.expansion * c.audio_feature_size / (c.groups / 2);
}

struct LossTensors {
  Tensor student_logits, student_encoding, teacher_logits, teacher_encoding, labels;
  Tensor row_stats, terms, dtotal, dlogits, dencoding;
};

LossTensors loss_tensors(int64_t batch, int64_t classes, int64_t encoding, Device device) {
  Generator generator(77);
  LossTensors t;
  t.student_logits = Tensor::normal({batch, classes}, -2.0, 2.0, generator, DType::Float32, device);
  t.teacher_logits = Tensor::normal({batch, classes}, -2.0, 2.0, generator, DType::Float32, device);
  t.labels = Tensor::zeros({batch, classes}, DType::Float32, device);
  t.student_encoding = Tensor::normal({batch, encoding}, 0.0, 0.1, generator, DType::Float32, device);
  t.teacher_encoding = Tensor::normal({batch, encoding}, 0.0, 0.1, generator, DType::Float32, device);
  t.row_stats = Tensor::empty({batch, kDistillationRowStats}, DType::Float32, device);
  t.terms = Tensor::empty({kDistillationTerms}, DType::Float32, device);
  t.dtotal = Tensor::full({1}, 1.0, DType::Float32, device);
  t.dlogits = Tensor::empty({batch, classes}, DType::Float32, device);
  t.dencoding = Tensor::empty({batch, encoding}, DType::Float32, device);
  return t;
}

std::vector<KernelMeasurement> bench_losses(const KernelBenchContext& context) {
  const int64_t classes = 3862, encoding = default_encoding_size();
  const std::vector<int64_t> batches = context.quick ? std::vector<int64_t>{8} : std::vector<int64_t>{160, 1024};
  DistillationLossOptions options;  // every term, the paper's categorical KL at the final submission's T = 3
  options.label_weight = 1.0;
  options.prediction_weight = 1.0;
  options.representation_weight = 1.0;
  options.temperature = 3.0;
  const models::LossWeights weights{1.0, 1.0, 1.0};

  std::vector<KernelMeasurement> results;
  for (int64_t batch : batches) {
    const std::string shape = fmt::format("B={} C={} D={}", batch, classes, encoding);
    const double logits_bytes = double(batch * classes) * sizeof(float);
    const double encoding_bytes = double(batch * encoding) * sizeof(float);
    LossTensors t = loss_tensors(batch, classes, encoding, context.device);
    const Device device = context.device;

    // Reads both logits, the labels and both encodings once.
    double forward_bytes = 3 * logits_bytes + 2 * encoding_bytes;
    double ms = time_median_ms(device, context.repeats, [&] {
      FF_RUN_KERNEL(device, distillation_loss_forward<float>, options, batch, classes, encoding,
                    t.student_logits.data<float>(), t.teacher_logits.data<float>(), t.labels.data<float>(),
                    t.student_encoding.data<float>(), t.teacher_encoding.data<float>(), t.row_stats.data<float>(),
                    t.terms.data<float>());
      return t.terms;
    });
    results.push_back({"distillation_loss_forward", shape, ms, forward_bytes, 0.0, "", ""});

    // Reads them again and writes both gradients.
    double backward_bytes = 4 * logits_bytes + 3 * encoding_bytes;
    ms = time_median_ms(device, context.repeats, [&] {
      FF_RUN_KERNEL(device, distillation_loss_backward<float>, options, batch, classes, encoding,
                    t.student_logits.data<float>(), t.teacher_logits.data<float>(), t.labels.data<float>(),
                    t.student_encoding.data<float>(), t.teacher_encoding.data<float>(), t.row_stats.data<float>(),
                    t.dtotal.data<float>(), t.dlogits.data<float>(), t.dencoding.data<float>());
      return t.dlogits;
    });
    results.push_back({"distillation_loss_backward", shape, ms, backward_bytes, 0.0, "", ""});

    // The same forward as separate engine ops: the same compulsory traffic, many more passes.
    ms = time_median_ms(device, context.repeats, [&] {
      Tensor label = models::label_loss(t.student_logits, t.labels);
      Tensor prediction = models::prediction_loss(t.teacher_logits, t.student_logits,
                                                  models::PredictionLoss::CategoricalKL, options.temperature);
      Tensor representation = models::representation_loss(t.teacher_encoding, t.student_encoding);
      return add(add(scale(label, weights.label), scale(prediction, weights.prediction)),
                 scale(representation, weights.representation));
    });
    results.push_back({"distillation_losses_separate_ops_forward", shape, ms, forward_bytes, 0.0, "", ""});
  }
  return results;
}

const KernelBenchRegistrar registrar("losses", bench_losses);

}  // namespace
}  // namespace ff::tools
