// The bridge between the loader and the trainer: a data::Batch of uint8 frames becomes float32 tensors on
// the training device. The frames cross to the device as uint8 and are dequantised there (the data-flow
// rule of DESIGN.md: bytes cross PCIe as uint8, never as padded float32). A sampled view that the loader
// delivered as frame indices only (ViewSpec::copy_frames false) is gathered on the device from the full
// view's uint8 frames, dequantised in the same pass (ops dequantize_gather): in distillation the
// student's frames cross PCIe once, inside the teacher's.
#pragma once
#include <string>

#include "data/loader.h"
#include "engine/device.h"
#include "models/trainer.h"

namespace ff::tools {

// The frames of one view (features in layout order: rgb, then audio) as dequantised float32
// [batch, capacity, size] tensors on `device`. The view must carry its frames.
models::FrameInputs view_tensors(const data::ViewBatch& view, const data::YouTube8MLayout& layout, int64_t batch_size,
                                 Device device);

// The views named `full_view` and `sampled_view` (either may be empty: not needed) and the multi-hot labels.
// A sampled view without frames is gathered from the full view, which must then be named and carry them.
models::TrainingBatch training_batch(const data::Batch& batch, const data::YouTube8MLayout& layout,
                                     const std::string& full_view, const std::string& sampled_view, Device device);

}  // namespace ff::tools
