#include "tools/batch_tensors.h"

#include <stdexcept>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/dequantize.h"

namespace ff::tools {

namespace {

void check_two_features(const data::ViewBatch& view, const data::YouTube8MLayout& layout) {
  if (layout.frame_features.size() != 2 || view.features.size() != 2)
    throw std::invalid_argument("the model reads exactly two frame features (rgb, audio); view '" + view.name +
                                "' has " + std::to_string(view.features.size()));
}

// Feature f of a view as uint8 [batch, capacity, size] on `device`: the one copy across PCIe.
Tensor upload_feature(const data::ViewBatch& view, const data::YouTube8MLayout& layout, int64_t batch_size, size_t f,
                      Device device) {
  const Shape shape{batch_size, view.capacity, layout.frame_features[f].size};
  const std::vector<uint8_t>& bytes = view.features[f];
  if (int64_t(bytes.size()) != shape_numel(shape))
    throw std::invalid_argument("view '" + view.name + "' feature '" + layout.frame_features[f].name + "' holds " +
                                std::to_string(bytes.size()) + " bytes, expected " + shape_str(shape));
  return Tensor::from_vector(bytes, shape, device);
}

Tensor dequantized(const Tensor& quantized) {
  Tensor out = Tensor::empty(quantized.shape(), DType::Float32, quantized.device());
  FF_RUN_KERNEL(quantized.device(), dequantize, quantized.data<uint8_t>(), out.data<float>(), quantized.numel());
  return out;
}

// The sampled view's frame indices as int32 [batch, k] on `device`, checked against the full view they
// index: the gather kernel reads a bad index as padding, which would silently drop a frame. Slot i of the
// full view must hold frame i (the "all" sampler's layout), which the full view's own indices confirm.
Tensor sampled_indices(const data::ViewBatch& sampled, const data::ViewBatch& full, int64_t batch_size, Device device) {
  auto require_size = [&](const data::ViewBatch& view, const char* what, size_t got, int64_t expected) {
    if (int64_t(got) != expected)
      throw std::invalid_argument("view '" + view.name + "' holds " + std::to_string(got) + " " + what +
                                  ", expected " + std::to_string(expected));
  };
  require_size(sampled, "frame indices", sampled.frame_indices.size(), batch_size * sampled.capacity);
  require_size(sampled, "frame counts", sampled.frame_counts.size(), batch_size);
  require_size(full, "frame counts", full.frame_counts.size(), batch_size);
  require_size(full, "frame indices", full.frame_indices.size(), batch_size * full.capacity);
  for (int64_t b = 0; b < batch_size; ++b)
    for (int64_t i = 0; i < sampled.capacity; ++i) {
      const int32_t index = sampled.frame_indices[size_t(b * sampled.capacity + i)];
      const std::string where =
          "view '" + sampled.name + "' video " + std::to_string(b) + " slot " + std::to_string(i) + " holds frame ";
      if (i >= sampled.frame_counts[size_t(b)]) {
        if (index != -1)
          throw std::invalid_argument(where + std::to_string(index) + " in a padding slot (the video has " +
                                      std::to_string(sampled.frame_counts[size_t(b)]) + " sampled frames)");
      } else if (index < 0 || index >= full.frame_counts[size_t(b)] ||
                 full.frame_indices[size_t(b * full.capacity + index)] != index) {
        throw std::invalid_argument(where + std::to_string(index) + ", which view '" + full.name + "' (" +
                                    std::to_string(full.frame_counts[size_t(b)]) +
                                    " frames, slot i holding frame i) does not have in slot " + std::to_string(index));
      }
    }
  return Tensor::from_vector(sampled.frame_indices, {batch_size, sampled.capacity}, device);
}

}  // namespace

models::FrameInputs view_tensors(const data::ViewBatch& view, const data::YouTube8MLayout& layout, int64_t batch_size,
                                 Device device) {
  check_two_features(view, layout);
  return {dequantized(upload_feature(view, layout, batch_size, 0, device)),
          dequantized(upload_feature(view, layout, batch_size, 1, device)), view.frame_counts};
}

models::TrainingBatch training_batch(const data::Batch& batch, const data::YouTube8MLayout& layout,
                                     const std::string& full_view, const std::string& sampled_view, Device device) {
  models::TrainingBatch result;
  auto find = [&](const std::string& name) -> const data::ViewBatch& {
    for (const data::ViewBatch& v : batch.views)
      if (v.name == name) return v;
    throw std::invalid_argument("the batch has no view named '" + name + "'");
  };
  const data::ViewBatch* sampled = sampled_view.empty() ? nullptr : &find(sampled_view);
  const bool gather = sampled != nullptr && sampled->features.empty();
  if (gather && full_view.empty())
    throw std::invalid_argument("view '" + sampled_view + "' carries frame indices only, and no full view to "
                                "gather its frames from was named");
  if (!full_view.empty()) {
    const data::ViewBatch& full = find(full_view);
    check_two_features(full, layout);
    Tensor quantized[2] = {upload_feature(full, layout, batch.size, 0, device),
                           upload_feature(full, layout, batch.size, 1, device)};
    result.full = {dequantized(quantized[0]), dequantized(quantized[1]), full.frame_counts};
    if (gather) {
      Tensor indices = sampled_indices(*sampled, full, batch.size, device);
      result.sampled = {dequantize_gather(quantized[0], indices), dequantize_gather(quantized[1], indices),
                        sampled->frame_counts};
    }
  }
  if (sampled != nullptr && !gather) result.sampled = view_tensors(*sampled, layout, batch.size, device);
  result.labels = Tensor::from_vector(batch.multi_hot, {batch.size, batch.num_classes}, device);
  return result;
}

}  // namespace ff::tools
