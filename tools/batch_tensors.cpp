#include "tools/batch_tensors.h"

#include <stdexcept>

#include "engine/dispatch.h"
#include "kernels/dequantize.h"

namespace ff::tools {

models::FrameInputs view_tensors(const data::ViewBatch& view, const data::YouTube8MLayout& layout, int64_t batch_size,
                                 Device device) {
  if (layout.frame_features.size() != 2 || view.features.size() != 2)
    throw std::invalid_argument("the model reads exactly two frame features (rgb, audio); view '" + view.name +
                                "' has " + std::to_string(view.features.size()));
  Tensor out[2];
  for (size_t f = 0; f < 2; ++f) {
    const int64_t size = layout.frame_features[f].size;
    const Shape shape{batch_size, view.capacity, size};
    const std::vector<uint8_t>& bytes = view.features[f];
    if (int64_t(bytes.size()) != shape_numel(shape))
      throw std::invalid_argument("view '" + view.name + "' feature '" + layout.frame_features[f].name + "' holds " +
                                  std::to_string(bytes.size()) + " bytes, expected " + shape_str(shape));
    Tensor quantized = Tensor::from_vector(bytes, shape, device);
    out[f] = Tensor::empty(shape, DType::Float32, device);
    FF_RUN_KERNEL(device, dequantize, quantized.data<uint8_t>(), out[f].data<float>(), quantized.numel());
  }
  return {out[0], out[1], view.frame_counts};
}

models::TrainingBatch training_batch(const data::Batch& batch, const data::YouTube8MLayout& layout,
                                     const std::string& full_view, const std::string& sampled_view, Device device) {
  models::TrainingBatch result;
  auto find = [&](const std::string& name) -> const data::ViewBatch& {
    for (const data::ViewBatch& v : batch.views)
      if (v.name == name) return v;
    throw std::invalid_argument("the batch has no view named '" + name + "'");
  };
  if (!full_view.empty()) result.full = view_tensors(find(full_view), layout, batch.size, device);
  if (!sampled_view.empty()) result.sampled = view_tensors(find(sampled_view), layout, batch.size, device);
  result.labels = Tensor::from_vector(batch.multi_hot, {batch.size, batch.num_classes}, device);
  return result;
}

}  // namespace ff::tools
