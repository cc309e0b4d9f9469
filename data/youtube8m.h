// YouTube-8M records: frame-level tf.SequenceExample and video-level tf.Example payloads.
//
// Two frame-level decoders that accept and reject the same bytes and report the same validation errors:
//   decode_frame_level          a wire walker for the hot path: it validates the whole message but only
//                               records pointers to each frame's bytes inside the payload;
//   decode_frame_level_protobuf libprotobuf's parser, the reference the walker is tested against.
// Protobuf semantics both follow: unknown fields are skipped at every level, map entries come in any
// order and a repeated key replaces the earlier entry (last wins), a value field repeated inside one map
// entry merges, Int64List/FloatList accept packed and unpacked encodings, and a Feature holding several
// kinds keeps the last one (oneof).
//
// Validation (every failure throws DataError(file, offset, id when already known, reason)), in order:
//   id: present, a bytes_list of exactly one value;  labels: present, an int64_list, each label in
//   [0, num_classes);  each frame feature in layout order: present, every frame a bytes_list of exactly
//   one value of the feature's size;  all frame features with the same number of frames.
// A video with zero frames decodes with num_frames = 0; no frame cap is applied here.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/data_error.h"

namespace ff::data {

struct FeatureSpec {
  std::string name;
  int64_t size = 0;  // bytes per frame (frame-level) or floats per video (video-level)
};

// The starter code's --feature_names / --feature_sizes pair: "rgb,audio" + "1024,128". Throws
// std::invalid_argument for different counts, empty or repeated names, sizes that are not positive integers.
std::vector<FeatureSpec> parse_feature_specs(const std::string& names, const std::string& sizes);

struct YouTube8MLayout {
  std::string id_key = "id";
  std::string labels_key = "labels";
  std::vector<FeatureSpec> frame_features = {{"rgb", 1024}, {"audio", 128}};
  std::vector<FeatureSpec> video_features = {{"mean_rgb", 1024}, {"mean_audio", 128}};
  int64_t num_classes = 3862;

  static YouTube8MLayout v2018();
  static YouTube8MLayout v2017();  // id key "video_id", 4716 classes
  // "2018" or "2017"; throws std::invalid_argument otherwise.
  static YouTube8MLayout from_name(const std::string& name);
};

// Where a payload came from, for error messages.
struct RecordSource {
  std::string_view file;
  uint64_t offset = DataError::kNoOffset;
};

// A decoded frame-level record pointing into its payload: valid while the payload is. Decoding into the
// same view again reuses its buffers, so the hot path allocates nothing once they have grown.
struct FrameLevelView {
  std::string_view id;
  std::vector<int32_t> labels;
  int64_t num_frames = 0;
  // frames[feature][frame] -> layout.frame_features[feature].size bytes.
  std::vector<std::vector<const uint8_t*>> frames;
};

struct DecodedFrameLevel {
  std::string id;
  std::vector<int32_t> labels;
  int64_t num_frames = 0;
  // Per frame feature, num_frames * size bytes, frame-major.
  std::vector<std::vector<uint8_t>> features;

  bool operator==(const DecodedFrameLevel&) const = default;
};

struct DecodedVideoLevel {
  std::string id;
  std::vector<int32_t> labels;
  std::vector<std::vector<float>> features;  // per video feature, exactly its size

  bool operator==(const DecodedVideoLevel&) const = default;
};

// Thread-safe for distinct views (its scratch buffers are per thread). After an error the view's
// contents are unspecified.
void decode_frame_level(std::string_view payload, const YouTube8MLayout& layout, FrameLevelView& view,
                        const RecordSource& source);
DecodedFrameLevel decode_frame_level_protobuf(std::string_view payload, const YouTube8MLayout& layout,
                                              const RecordSource& source);
DecodedFrameLevel to_owning(const FrameLevelView& view, const YouTube8MLayout& layout);

// Video-level records through libprotobuf (they are small); a trailing unknown field such as the real
// files' empty `12 00` is skipped. Video features must be float_lists of exactly their size.
DecodedVideoLevel decode_video_level(std::string_view payload, const YouTube8MLayout& layout,
                                     const RecordSource& source);

// The writing side (synthetic data, tests). Map keys are written sorted, so the bytes are reproducible.
// Throws std::invalid_argument when the record does not match the layout.
std::string encode_frame_level(const DecodedFrameLevel& video, const YouTube8MLayout& layout);
std::string encode_video_level(const DecodedVideoLevel& video, const YouTube8MLayout& layout);

// Dequantises every frame of one frame feature into out[num_frames * size] (frame-major), on the CPU.
void dequantize_frames(const FrameLevelView& view, const YouTube8MLayout& layout, size_t feature, float* out);

// The validation messages, shared by both decoders so that they report identical reasons.
namespace youtube8m_reasons {
enum class FeatureKind { kEmpty, kBytesList, kFloatList, kInt64List };
std::string missing_feature(std::string_view where, std::string_view key);
std::string wrong_kind(std::string_view where, std::string_view key, FeatureKind expected, FeatureKind got);
std::string wrong_value_count(std::string_view where, std::string_view key, size_t expected, size_t got);
std::string label_out_of_range(int64_t label, int64_t num_classes);
std::string frame_wrong_kind(std::string_view feature, int64_t frame, FeatureKind got);
std::string frame_wrong_value_count(std::string_view feature, int64_t frame, size_t got);
std::string frame_wrong_size(std::string_view feature, int64_t frame, size_t got, int64_t expected);
std::string frame_count_mismatch(std::string_view first, int64_t first_count, std::string_view other,
                                 int64_t other_count);
constexpr std::string_view kContext = "context feature";
constexpr std::string_view kFeatureList = "feature list";
constexpr std::string_view kFeature = "feature";
constexpr std::string_view kMalformed = "malformed protobuf";
}  // namespace youtube8m_reasons

}  // namespace ff::data
