// What both YouTube-8M decoders share: layouts, feature flags, validation messages, the owning copy and
// CPU dequantisation.
#include "data/youtube8m.h"

#include <charconv>
#include <cstring>
#include <stdexcept>

#include "kernels/dequantize.h"

namespace ff::data {

namespace {
std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    parts.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) return parts;
    start = comma + 1;
  }
}

std::string trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}
}  // namespace

std::vector<FeatureSpec> parse_feature_specs(const std::string& names, const std::string& sizes) {
  std::vector<std::string> name_list = split_commas(names), size_list = split_commas(sizes);
  if (name_list.size() != size_list.size()) {
    throw std::invalid_argument("--feature_names '" + names + "' has " + std::to_string(name_list.size()) +
                                " entries but --feature_sizes '" + sizes + "' has " +
                                std::to_string(size_list.size()));
  }
  std::vector<FeatureSpec> specs;
  for (size_t i = 0; i < name_list.size(); ++i) {
    std::string name = trim(name_list[i]), size_text = trim(size_list[i]);
    if (name.empty()) throw std::invalid_argument("--feature_names '" + names + "': empty name at position " + std::to_string(i));
    for (const FeatureSpec& earlier : specs) {
      if (earlier.name == name) throw std::invalid_argument("--feature_names '" + names + "': '" + name + "' appears twice");
    }
    int64_t size = 0;
    auto [end, error] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size);
    if (error != std::errc() || end != size_text.data() + size_text.size() || size <= 0) {
      throw std::invalid_argument("--feature_sizes '" + sizes + "': '" + size_text + "' is not a positive integer");
    }
    specs.push_back({name, size});
  }
  return specs;
}

YouTube8MLayout YouTube8MLayout::v2018() { return YouTube8MLayout{}; }

YouTube8MLayout YouTube8MLayout::v2017() {
  YouTube8MLayout layout;
  layout.id_key = "video_id";
  layout.num_classes = 4716;
  return layout;
}

YouTube8MLayout YouTube8MLayout::from_name(const std::string& name) {
  if (name == "2018") return v2018();
  if (name == "2017") return v2017();
  throw std::invalid_argument("unknown YouTube-8M layout '" + name + "' (expected 2018 or 2017)");
}

DecodedFrameLevel to_owning(const FrameLevelView& view, const YouTube8MLayout& layout) {
  DecodedFrameLevel video;
  video.id = std::string(view.id);
  video.labels = view.labels;
  video.num_frames = view.num_frames;
  video.features.resize(layout.frame_features.size());
  for (size_t f = 0; f < layout.frame_features.size(); ++f) {
    size_t size = size_t(layout.frame_features[f].size);
    video.features[f].resize(size_t(view.num_frames) * size);
    for (int64_t t = 0; t < view.num_frames; ++t) {
      std::memcpy(video.features[f].data() + size_t(t) * size, view.frames[f][size_t(t)], size);
    }
  }
  return video;
}

void dequantize_frames(const FrameLevelView& view, const YouTube8MLayout& layout, size_t feature, float* out) {
  if (feature >= layout.frame_features.size() || feature >= view.frames.size()) {
    throw std::invalid_argument("dequantize_frames: feature index " + std::to_string(feature) + " out of range");
  }
  int64_t size = layout.frame_features[feature].size;
  for (int64_t t = 0; t < view.num_frames; ++t) {
    ff::cpu::dequantize(view.frames[feature][size_t(t)], out + t * size, size);
  }
}

namespace youtube8m_reasons {
namespace {
const char* kind_phrase(FeatureKind kind) {
  switch (kind) {
    case FeatureKind::kBytesList: return "a bytes_list";
    case FeatureKind::kFloatList: return "a float_list";
    case FeatureKind::kInt64List: return "an int64_list";
    case FeatureKind::kEmpty: break;
  }
  return "an empty Feature";
}
std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.append(1, '\'').append(text).append(1, '\'');
  return out;
}
}  // namespace

std::string missing_feature(std::string_view where, std::string_view key) {
  return "missing " + std::string(where) + " " + quoted(key);
}
std::string wrong_kind(std::string_view where, std::string_view key, FeatureKind expected, FeatureKind got) {
  return std::string(where) + " " + quoted(key) + " must be " + kind_phrase(expected) + ", got " + kind_phrase(got);
}
std::string wrong_value_count(std::string_view where, std::string_view key, size_t expected, size_t got) {
  return std::string(where) + " " + quoted(key) + " has " + std::to_string(got) + " values, expected exactly " +
         std::to_string(expected);
}
std::string label_out_of_range(int64_t label, int64_t num_classes) {
  return "label " + std::to_string(label) + " outside [0, " + std::to_string(num_classes) + ")";
}
std::string frame_wrong_kind(std::string_view feature, int64_t frame, FeatureKind got) {
  return "feature list " + quoted(feature) + " frame " + std::to_string(frame) + " must be a bytes_list, got " +
         kind_phrase(got);
}
std::string frame_wrong_value_count(std::string_view feature, int64_t frame, size_t got) {
  return "feature list " + quoted(feature) + " frame " + std::to_string(frame) + " has " + std::to_string(got) +
         " bytes values, expected exactly 1";
}
std::string frame_wrong_size(std::string_view feature, int64_t frame, size_t got, int64_t expected) {
  return "feature list " + quoted(feature) + " frame " + std::to_string(frame) + " has " + std::to_string(got) +
         " bytes, expected " + std::to_string(expected);
}
std::string frame_count_mismatch(std::string_view first, int64_t first_count, std::string_view other,
                                 int64_t other_count) {
  return "feature lists " + quoted(first) + " and " + quoted(other) + " have different frame counts: " +
         std::to_string(first_count) + " and " + std::to_string(other_count);
}
}  // namespace youtube8m_reasons

}  // namespace ff::data
