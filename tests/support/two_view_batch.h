// A loader batch made by hand with the two views of distillation: all frames, and k sampled frames either
// copied (as a Uniform-k run gets them) or as frame indices only (as a distillation run gets them).
// Shared by the CPU and CUDA tests of tools/batch_tensors.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "data/loader.h"
#include "data/youtube8m.h"

namespace ff::test {

inline data::YouTube8MLayout two_view_layout() {
  data::YouTube8MLayout layout;
  layout.frame_features = {{"rgb", 12}, {"audio", 5}};  // 5: not a multiple of the kernels' 4-byte vectors
  layout.num_classes = 6;
  return layout;
}

// Videos of `frame_counts` frames, capped at `capacity`; the sampled view takes every other frame, at most
// k of them, so short videos leave padding slots.
inline data::Batch two_view_batch(const std::vector<int32_t>& frame_counts, int64_t capacity, int64_t k,
                                  bool copy_sampled_frames) {
  const data::YouTube8MLayout layout = two_view_layout();
  const int64_t batch_size = int64_t(frame_counts.size());
  data::Batch batch;
  batch.size = batch_size;
  batch.num_classes = layout.num_classes;
  batch.multi_hot.assign(size_t(batch_size * layout.num_classes), 0.0f);
  for (int64_t b = 0; b < batch_size; ++b) batch.multi_hot[size_t(b * layout.num_classes + b % layout.num_classes)] = 1;
  data::ViewBatch full{"all", capacity, {}, {}, {}};
  data::ViewBatch sampled{"sampled", k, {}, {}, std::vector<int32_t>(size_t(batch_size * k), -1)};
  for (int64_t b = 0; b < batch_size; ++b) {
    const int32_t n = int32_t(std::min<int64_t>(frame_counts[size_t(b)], capacity));
    full.frame_counts.push_back(n);
    int32_t taken = 0;
    for (int32_t frame = 0; frame < n && taken < k; frame += 2) sampled.frame_indices[size_t(b * k + taken++)] = frame;
    sampled.frame_counts.push_back(taken);
    for (int64_t i = 0; i < capacity; ++i) full.frame_indices.push_back(i < n ? int32_t(i) : -1);
  }
  for (size_t f = 0; f < 2; ++f) {
    const int64_t size = layout.frame_features[f].size;
    std::vector<uint8_t> bytes(size_t(batch_size * capacity * size), 0);
    for (int64_t b = 0; b < batch_size; ++b)
      for (int64_t i = 0; i < full.frame_counts[size_t(b)] * size; ++i)
        bytes[size_t(b * capacity * size + i)] = uint8_t((b * 131 + i * 37 + int64_t(f) * 11) % 251 + 1);
    if (copy_sampled_frames) {
      std::vector<uint8_t> picked(size_t(batch_size * k * size), 0);
      for (int64_t b = 0; b < batch_size; ++b)
        for (int64_t i = 0; i < sampled.frame_counts[size_t(b)]; ++i)
          for (int64_t j = 0; j < size; ++j)
            picked[size_t((b * k + i) * size + j)] =
                bytes[size_t((b * capacity + sampled.frame_indices[size_t(b * k + i)]) * size + j)];
      sampled.features.push_back(std::move(picked));
    }
    full.features.push_back(std::move(bytes));
  }
  batch.views = {full, sampled};
  return batch;
}

}  // namespace ff::test
