#include "tools/video_labels.h"

#include <stdexcept>

#include "data/file_patterns.h"
#include "data/vocabulary.h"

namespace ff::tools {

void for_each_labeled_video(const std::vector<std::string>& files, const data::YouTube8MLayout& layout,
                            const data::TFRecordReaderOptions& reader_options,
                            const std::function<void(const LabeledVideo&)>& visit) {
  data::FrameLevelView frame_view;
  for (const std::string& file : files) {
    data::TFRecordReader reader(file, reader_options);
    std::string_view payload;
    enum class Level { Unknown, Frame, Video } level = Level::Unknown;
    while (reader.next(payload)) {
      const uint64_t offset = reader.record_offset();
      const data::RecordSource source{file, offset};
      if (level == Level::Unknown) {
        // A frame-level record has the layout's frame feature lists, a video-level one its float features;
        // a record that is neither is reported as the frame-level problem.
        try {
          data::decode_frame_level(payload, layout, frame_view, source);
          level = Level::Frame;
        } catch (const data::DataError& frame_error) {
          try {
            data::decode_video_level(payload, layout, source);
          } catch (const data::DataError&) {
            throw frame_error;
          }
          level = Level::Video;
        }
      }
      if (level == Level::Frame) {
        data::decode_frame_level(payload, layout, frame_view, source);
        visit({file, offset, frame_view.id, &frame_view.labels, frame_view.num_frames});
      } else {
        data::DecodedVideoLevel video = data::decode_video_level(payload, layout, source);
        visit({file, offset, video.id, &video.labels, -1});
      }
    }
  }
}

std::vector<int64_t> count_class_labels(const std::vector<std::string>& patterns, const data::YouTube8MLayout& layout,
                                        const data::TFRecordReaderOptions& reader, Progress* progress) {
  std::vector<int64_t> counts(static_cast<size_t>(layout.num_classes), 0);
  for_each_labeled_video(data::expand_file_patterns(patterns), layout, reader, [&](const LabeledVideo& video) {
    for (int32_t label : *video.labels) ++counts[size_t(label)];  // the decoders checked the range
    if (progress) progress->advance(1);
  });
  return counts;
}

std::vector<int64_t> vocabulary_class_counts(const std::string& path, int64_t num_classes) {
  data::Vocabulary vocabulary = data::load_vocabulary(path);
  if (int64_t(vocabulary.size()) != num_classes)
    throw std::runtime_error("vocabulary " + path + " has " + std::to_string(vocabulary.size()) +
                             " classes; the labels have " + std::to_string(num_classes));
  std::vector<int64_t> counts;
  counts.reserve(vocabulary.size());
  for (const data::VocabularyEntry& entry : vocabulary.entries) counts.push_back(entry.train_video_count);
  return counts;
}

}  // namespace ff::tools
