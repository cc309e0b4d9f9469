// YouTube-8M records through libprotobuf: the reference frame-level decoder, the video-level decoder and
// both encoders.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <climits>
#include <stdexcept>

#include "data/proto/example.pb.h"
#include "data/youtube8m.h"

namespace ff::data {
namespace {

using namespace youtube8m_reasons;

FeatureKind kind_of(const proto::Feature& feature) {
  switch (feature.kind_case()) {
    case proto::Feature::kBytesList: return FeatureKind::kBytesList;
    case proto::Feature::kFloatList: return FeatureKind::kFloatList;
    case proto::Feature::kInt64List: return FeatureKind::kInt64List;
    case proto::Feature::KIND_NOT_SET: break;
  }
  return FeatureKind::kEmpty;
}

struct ErrorContext {
  const RecordSource& source;
  std::string id;  // set once the id has been validated
  [[noreturn]] void fail(const std::string& reason) const {
    throw DataError(std::string(source.file), source.offset, id, reason);
  }
};

// libprotobuf logs a line to stderr for each bad record (invalid UTF-8 in a key, say) before failing the
// parse; the failure itself becomes a DataError with file and offset, so the log line is noise.
void silence_protobuf_logging() {
  static const bool silenced = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)silenced;
}

template <typename Message>
void parse_or_fail(std::string_view payload, Message& message, const char* type, const ErrorContext& context) {
  silence_protobuf_logging();
  if (payload.size() > size_t(INT_MAX) || !message.ParseFromArray(payload.data(), int(payload.size()))) {
    context.fail(std::string(kMalformed) + ": not a valid " + type);
  }
}

const proto::Feature& require_feature(const proto::Features& features, std::string_view where, const std::string& key,
                                      FeatureKind expected, const ErrorContext& context) {
  auto found = features.feature().find(key);
  if (found == features.feature().end()) context.fail(missing_feature(where, key));
  if (kind_of(found->second) != expected) context.fail(wrong_kind(where, key, expected, kind_of(found->second)));
  return found->second;
}

// The id, then the labels: the order in which both decoders validate.
void read_id_and_labels(const proto::Features& features, std::string_view where, const YouTube8MLayout& layout,
                        ErrorContext& context, std::string& id, std::vector<int32_t>& labels) {
  const auto& ids = require_feature(features, where, layout.id_key, FeatureKind::kBytesList, context).bytes_list();
  if (ids.value_size() != 1) context.fail(wrong_value_count(where, layout.id_key, 1, size_t(ids.value_size())));
  id = ids.value(0);
  context.id = id;

  const auto& values = require_feature(features, where, layout.labels_key, FeatureKind::kInt64List, context).int64_list();
  labels.clear();
  labels.reserve(size_t(values.value_size()));
  for (int64_t label : values.value()) {
    if (label < 0 || label >= layout.num_classes) context.fail(label_out_of_range(label, layout.num_classes));
    labels.push_back(int32_t(label));
  }
}

void set_id_and_labels(proto::Features& features, const YouTube8MLayout& layout, const std::string& id,
                       const std::vector<int32_t>& labels) {
  auto& map = *features.mutable_feature();
  map[layout.id_key].mutable_bytes_list()->add_value(id);
  auto* label_values = map[layout.labels_key].mutable_int64_list();
  for (int32_t label : labels) label_values->add_value(label);
}

template <typename Message>
std::string serialize_deterministically(const Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);  // sorted map keys: the same record gives the same bytes
    if (!message.SerializeToCodedStream(&coded)) throw std::runtime_error("protobuf serialisation failed");
  }
  return bytes;
}

}  // namespace

DecodedFrameLevel decode_frame_level_protobuf(std::string_view payload, const YouTube8MLayout& layout,
                                              const RecordSource& source) {
  ErrorContext context{source, {}};
  proto::SequenceExample example;
  parse_or_fail(payload, example, "SequenceExample", context);

  DecodedFrameLevel video;
  read_id_and_labels(example.context(), kContext, layout, context, video.id, video.labels);

  const auto& lists = example.feature_lists().feature_list();
  std::vector<const proto::FeatureList*> found(layout.frame_features.size());
  for (size_t f = 0; f < layout.frame_features.size(); ++f) {
    const FeatureSpec& spec = layout.frame_features[f];
    auto list = lists.find(spec.name);
    if (list == lists.end()) context.fail(missing_feature(kFeatureList, spec.name));
    found[f] = &list->second;
    for (int t = 0; t < list->second.feature_size(); ++t) {
      const proto::Feature& frame = list->second.feature(t);
      if (kind_of(frame) != FeatureKind::kBytesList) context.fail(frame_wrong_kind(spec.name, t, kind_of(frame)));
      if (frame.bytes_list().value_size() != 1) {
        context.fail(frame_wrong_value_count(spec.name, t, size_t(frame.bytes_list().value_size())));
      }
      size_t size = frame.bytes_list().value(0).size();
      if (int64_t(size) != spec.size) context.fail(frame_wrong_size(spec.name, t, size, spec.size));
    }
  }
  for (size_t f = 1; f < found.size(); ++f) {
    if (found[f]->feature_size() != found[0]->feature_size()) {
      context.fail(frame_count_mismatch(layout.frame_features[0].name, found[0]->feature_size(),
                                        layout.frame_features[f].name, found[f]->feature_size()));
    }
  }

  video.num_frames = found.empty() ? 0 : found[0]->feature_size();
  video.features.resize(found.size());
  for (size_t f = 0; f < found.size(); ++f) {
    std::vector<uint8_t>& bytes = video.features[f];
    bytes.reserve(size_t(video.num_frames * layout.frame_features[f].size));
    for (const proto::Feature& frame : found[f]->feature()) {
      const std::string& value = frame.bytes_list().value(0);
      bytes.insert(bytes.end(), value.begin(), value.end());
    }
  }
  return video;
}

DecodedVideoLevel decode_video_level(std::string_view payload, const YouTube8MLayout& layout,
                                     const RecordSource& source) {
  ErrorContext context{source, {}};
  proto::Example example;
  parse_or_fail(payload, example, "Example", context);

  DecodedVideoLevel video;
  read_id_and_labels(example.features(), kFeature, layout, context, video.id, video.labels);
  for (const FeatureSpec& spec : layout.video_features) {
    const auto& values =
        require_feature(example.features(), kFeature, spec.name, FeatureKind::kFloatList, context).float_list();
    if (values.value_size() != spec.size) {
      context.fail(wrong_value_count(kFeature, spec.name, size_t(spec.size), size_t(values.value_size())));
    }
    video.features.emplace_back(values.value().begin(), values.value().end());
  }
  return video;
}

std::string encode_frame_level(const DecodedFrameLevel& video, const YouTube8MLayout& layout) {
  if (video.features.size() != layout.frame_features.size()) {
    throw std::invalid_argument("encode_frame_level: record '" + video.id + "' has " +
                                std::to_string(video.features.size()) + " frame features, the layout " +
                                std::to_string(layout.frame_features.size()));
  }
  proto::SequenceExample example;
  set_id_and_labels(*example.mutable_context(), layout, video.id, video.labels);
  auto& lists = *example.mutable_feature_lists()->mutable_feature_list();
  for (size_t f = 0; f < layout.frame_features.size(); ++f) {
    const FeatureSpec& spec = layout.frame_features[f];
    if (int64_t(video.features[f].size()) != video.num_frames * spec.size) {
      throw std::invalid_argument("encode_frame_level: record '" + video.id + "' feature '" + spec.name + "' has " +
                                  std::to_string(video.features[f].size()) + " bytes, expected " +
                                  std::to_string(video.num_frames) + " frames x " + std::to_string(spec.size));
    }
    proto::FeatureList& list = lists[spec.name];
    const char* bytes = reinterpret_cast<const char*>(video.features[f].data());
    for (int64_t t = 0; t < video.num_frames; ++t) {
      list.add_feature()->mutable_bytes_list()->add_value(bytes + t * spec.size, size_t(spec.size));
    }
  }
  return serialize_deterministically(example);
}

std::string encode_video_level(const DecodedVideoLevel& video, const YouTube8MLayout& layout) {
  if (video.features.size() != layout.video_features.size()) {
    throw std::invalid_argument("encode_video_level: record '" + video.id + "' has " +
                                std::to_string(video.features.size()) + " video features, the layout " +
                                std::to_string(layout.video_features.size()));
  }
  proto::Example example;
  set_id_and_labels(*example.mutable_features(), layout, video.id, video.labels);
  auto& map = *example.mutable_features()->mutable_feature();
  for (size_t f = 0; f < layout.video_features.size(); ++f) {
    const FeatureSpec& spec = layout.video_features[f];
    if (int64_t(video.features[f].size()) != spec.size) {
      throw std::invalid_argument("encode_video_level: record '" + video.id + "' feature '" + spec.name + "' has " +
                                  std::to_string(video.features[f].size()) + " values, expected " +
                                  std::to_string(spec.size));
    }
    auto* values = map[spec.name].mutable_float_list();
    for (float value : video.features[f]) values->add_value(value);
  }
  return serialize_deterministically(example);
}

}  // namespace ff::data
