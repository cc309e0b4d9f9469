// The ids and labels of YouTube-8M TFRecord files without running a model: the ground truth for scoring a
// predictions CSV, and the training frequency of every class (by counting labels, or from vocabulary.csv)
// that splits the classes into rare and frequent ones.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "data/tfrecord.h"
#include "data/youtube8m.h"
#include "engine/progress.h"

namespace ff::tools {

struct LabeledVideo {
  std::string_view file;
  uint64_t offset = 0;  // the record's byte offset in the file
  std::string_view id;
  const std::vector<int32_t>* labels = nullptr;
  int64_t frames = -1;  // frame-level records: the frame count; video-level records: -1
};

// Calls `visit` for every record of `files`, in order. Each file is frame-level or video-level as its first
// record says (it decodes as one or the other); every record is fully validated by its level's decoder, so
// a bad record throws DataError with its file, offset and id. The LabeledVideo is valid during the call.
void for_each_labeled_video(const std::vector<std::string>& files, const data::YouTube8MLayout& layout,
                            const data::TFRecordReaderOptions& reader,
                            const std::function<void(const LabeledVideo&)>& visit);

// Positive labels of every class over the videos of the files the globs `patterns` match; `progress`, when
// given, advances by one per video.
std::vector<int64_t> count_class_labels(const std::vector<std::string>& patterns, const data::YouTube8MLayout& layout,
                                        const data::TFRecordReaderOptions& reader = {}, Progress* progress = nullptr);

// TrainVideoCount of every class from a vocabulary.csv that has exactly num_classes rows; throws
// std::runtime_error naming the file otherwise.
std::vector<int64_t> vocabulary_class_counts(const std::string& path, int64_t num_classes);

}  // namespace ff::tools
