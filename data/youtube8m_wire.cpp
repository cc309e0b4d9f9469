// The frame-level wire walker: one pass over a SequenceExample that validates every field the way
// libprotobuf does (see data/wire_format.h) but copies nothing: the id is a view into the payload and each
// frame is a pointer to its bytes. Frames are the bulk of a record (300 x (1024 + 128) bytes), so the
// walker touches only their tags and lengths.
//
// Message nesting (depth as libprotobuf counts it, for the limit on nested groups):
//   SequenceExample 0 > Features / FeatureLists 1 > map entry 2 > Feature / FeatureList 3
//   > (context) BytesList / FloatList / Int64List 4; (feature lists) Feature 4 > BytesList ... 5.
#include <utility>

#include "data/wire_format.h"
#include "data/youtube8m.h"

namespace ff::data {
namespace {

using namespace youtube8m_reasons;
using wire::Reader;

constexpr uint32_t kField1Bytes = wire::make_tag(1, wire::kLengthDelimited);
constexpr uint32_t kField2Bytes = wire::make_tag(2, wire::kLengthDelimited);
constexpr uint32_t kField3Bytes = wire::make_tag(3, wire::kLengthDelimited);
constexpr uint32_t kField1Varint = wire::make_tag(1, wire::kVarint);
constexpr uint32_t kField1Fixed32 = wire::make_tag(1, wire::kFixed32);

// What a Feature holds after all of its fields (and merged repeats) have been read. Feature.kind is a
// oneof: a field of another kind discards what came before, a repeat of the same kind appends to it.
struct FeatureContents {
  FeatureKind kind = FeatureKind::kEmpty;
  size_t value_count = 0;
  std::string_view first_bytes;              // bytes_list: the first value
  std::vector<int64_t>* int64_values = nullptr;  // int64_list values are collected only when set

  void switch_to(FeatureKind new_kind) {
    if (kind == new_kind) return;
    kind = new_kind;
    value_count = 0;
    first_bytes = {};
    if (int64_values) int64_values->clear();
  }
};

void parse_bytes_list(Reader list, FeatureContents& contents, int depth) {
  while (!list.at_end()) {
    uint32_t tag = list.read_tag();
    if (tag == kField1Bytes) {
      std::string_view value = list.read_bytes();
      if (contents.value_count++ == 0) contents.first_bytes = value;
    } else {
      list.skip_field(tag, depth);
    }
  }
}

void parse_float_list(Reader list, FeatureContents& contents, int depth) {
  while (!list.at_end()) {
    uint32_t tag = list.read_tag();
    if (tag == kField1Bytes) {  // packed: whole 4-byte floats only
      size_t offset = list.offset();
      std::string_view packed = list.read_bytes();
      if (packed.size() % 4 != 0) {
        throw wire::WireError("packed float_list of " + std::to_string(packed.size()) + " bytes", offset);
      }
      contents.value_count += packed.size() / 4;
    } else if (tag == kField1Fixed32) {
      list.read_fixed32();
      ++contents.value_count;
    } else {
      list.skip_field(tag, depth);
    }
  }
}

void parse_int64_list(Reader list, FeatureContents& contents, int depth) {
  while (!list.at_end()) {
    uint32_t tag = list.read_tag();
    if (tag == kField1Bytes) {  // packed: the varints must end exactly at the field's end
      Reader packed = list.read_length_delimited();
      while (!packed.at_end()) {
        int64_t value = int64_t(packed.read_varint());
        if (contents.int64_values) contents.int64_values->push_back(value);
        ++contents.value_count;
      }
    } else if (tag == kField1Varint) {
      int64_t value = int64_t(list.read_varint());
      if (contents.int64_values) contents.int64_values->push_back(value);
      ++contents.value_count;
    } else {
      list.skip_field(tag, depth);
    }
  }
}

// One Feature message (or one more piece of it, when a map entry repeats its value field).
void parse_feature(Reader feature, FeatureContents& contents, int depth) {
  while (!feature.at_end()) {
    uint32_t tag = feature.read_tag();
    if (tag == kField1Bytes) {
      contents.switch_to(FeatureKind::kBytesList);
      parse_bytes_list(feature.read_length_delimited(), contents, depth + 1);
    } else if (tag == kField2Bytes) {
      contents.switch_to(FeatureKind::kFloatList);
      parse_float_list(feature.read_length_delimited(), contents, depth + 1);
    } else if (tag == kField3Bytes) {
      contents.switch_to(FeatureKind::kInt64List);
      parse_int64_list(feature.read_length_delimited(), contents, depth + 1);
    } else {
      feature.skip_field(tag, depth);
    }
  }
}

// A map entry's key: the last key field wins, and every key field must be valid UTF-8 (map keys are proto3
// strings). An entry without a key has the key "".
std::string_view read_entry_key(Reader entry, int depth) {
  std::string_view key;
  while (!entry.at_end()) {
    uint32_t tag = entry.read_tag();
    if (tag == kField1Bytes) {
      size_t offset = entry.offset();
      key = entry.read_bytes();
      if (!wire::is_valid_utf8(key)) throw wire::WireError("map key is not valid UTF-8", offset);
    } else {
      entry.skip_field(tag, depth);
    }
  }
  return key;
}

// Calls parse(value reader) for every value field of a map entry; together they form one merged value.
template <typename Parse>
void for_each_entry_value(Reader entry, int depth, Parse&& parse) {
  while (!entry.at_end()) {
    uint32_t tag = entry.read_tag();
    if (tag == kField2Bytes) {
      parse(entry.read_length_delimited());
    } else {
      entry.skip_field(tag, depth);
    }
  }
}

// The first frame of a feature list that is not exactly one bytes value of the expected size.
struct FrameProblem {
  enum class Kind { kNone, kWrongKind, kWrongValueCount, kWrongSize } kind = Kind::kNone;
  int64_t frame = 0;
  FeatureKind got_kind = FeatureKind::kEmpty;
  size_t got = 0;
};

struct FrameFeatureState {
  bool present = false;
  FrameProblem problem;
};

struct ContextState {
  bool id_present = false;
  FeatureContents id;
  bool labels_present = false;
  FeatureKind labels_kind = FeatureKind::kEmpty;
};

// Buffers reused across records on each thread, so decoding allocates nothing once they have grown.
struct Scratch {
  std::vector<int64_t> labels, entry_int64;
  std::vector<FrameFeatureState> frame_features;
};

class FrameLevelWalker {
 public:
  FrameLevelWalker(const YouTube8MLayout& layout, FrameLevelView& view, Scratch& scratch)
      : layout_(layout), view_(view), scratch_(scratch) {}

  void walk(std::string_view payload) {
    Reader message(payload);
    while (!message.at_end()) {
      uint32_t tag = message.read_tag();
      if (tag == kField1Bytes) {
        parse_context(message.read_length_delimited());
      } else if (tag == kField2Bytes) {
        parse_feature_lists(message.read_length_delimited());
      } else {
        message.skip_field(tag, 0);
      }
    }
  }

  const ContextState& context() const { return context_; }

 private:
  void parse_context(Reader features) {
    while (!features.at_end()) {
      uint32_t tag = features.read_tag();
      if (tag != kField1Bytes) {
        features.skip_field(tag, 1);
        continue;
      }
      Reader entry = features.read_length_delimited();
      std::string_view key = read_entry_key(entry, 2);
      FeatureContents contents;
      if (key == layout_.labels_key) {
        scratch_.entry_int64.clear();
        contents.int64_values = &scratch_.entry_int64;
      }
      for_each_entry_value(entry, 2, [&](Reader value) { parse_feature(value, contents, 3); });
      if (key == layout_.id_key) {  // a later entry with the same key replaces the earlier one
        context_.id_present = true;
        context_.id = contents;
      } else if (key == layout_.labels_key) {
        context_.labels_present = true;
        context_.labels_kind = contents.kind;
        std::swap(scratch_.labels, scratch_.entry_int64);
      }
    }
  }

  void parse_feature_lists(Reader lists) {
    while (!lists.at_end()) {
      uint32_t tag = lists.read_tag();
      if (tag != kField1Bytes) {
        lists.skip_field(tag, 1);
        continue;
      }
      Reader entry = lists.read_length_delimited();
      std::string_view key = read_entry_key(entry, 2);
      size_t feature = 0;
      while (feature < layout_.frame_features.size() && layout_.frame_features[feature].name != key) ++feature;
      if (feature == layout_.frame_features.size()) {
        for_each_entry_value(entry, 2, [&](Reader value) { skim_feature_list(value, 3); });
        continue;
      }
      FrameFeatureState& state = scratch_.frame_features[feature];
      state = FrameFeatureState{};
      state.present = true;
      std::vector<const uint8_t*>& frames = view_.frames[feature];
      frames.clear();
      int64_t expected_size = layout_.frame_features[feature].size;
      for_each_entry_value(entry, 2, [&](Reader value) { collect_frames(value, 3, expected_size, frames, state); });
    }
  }

  // A feature list this layout does not use: validated, not kept.
  static void skim_feature_list(Reader list, int depth) {
    while (!list.at_end()) {
      uint32_t tag = list.read_tag();
      if (tag == kField1Bytes) {
        FeatureContents contents;
        parse_feature(list.read_length_delimited(), contents, depth + 1);
      } else {
        list.skip_field(tag, depth);
      }
    }
  }

  static void collect_frames(Reader list, int depth, int64_t expected_size, std::vector<const uint8_t*>& frames,
                             FrameFeatureState& state) {
    while (!list.at_end()) {
      uint32_t tag = list.read_tag();
      if (tag != kField1Bytes) {
        list.skip_field(tag, depth);
        continue;
      }
      FeatureContents contents;
      parse_feature(list.read_length_delimited(), contents, depth + 1);
      int64_t frame = int64_t(frames.size());
      frames.push_back(reinterpret_cast<const uint8_t*>(contents.first_bytes.data()));
      if (state.problem.kind != FrameProblem::Kind::kNone) continue;
      if (contents.kind != FeatureKind::kBytesList) {
        state.problem = {FrameProblem::Kind::kWrongKind, frame, contents.kind, 0};
      } else if (contents.value_count != 1) {
        state.problem = {FrameProblem::Kind::kWrongValueCount, frame, contents.kind, contents.value_count};
      } else if (int64_t(contents.first_bytes.size()) != expected_size) {
        state.problem = {FrameProblem::Kind::kWrongSize, frame, contents.kind, contents.first_bytes.size()};
      }
    }
  }

  const YouTube8MLayout& layout_;
  FrameLevelView& view_;
  Scratch& scratch_;
  ContextState context_;
};

struct RecordErrors {
  const RecordSource& source;
  std::string_view id;  // once validated
  [[noreturn]] void fail(const std::string& reason) const {
    throw DataError(std::string(source.file), source.offset, std::string(id), reason);
  }
};

}  // namespace

void decode_frame_level(std::string_view payload, const YouTube8MLayout& layout, FrameLevelView& view,
                        const RecordSource& source) {
  thread_local Scratch scratch;
  size_t num_features = layout.frame_features.size();
  view.frames.resize(num_features);
  scratch.frame_features.assign(num_features, FrameFeatureState{});
  FrameLevelWalker walker(layout, view, scratch);
  try {
    walker.walk(payload);
  } catch (const wire::WireError& error) {
    throw DataError(std::string(source.file), source.offset, "", std::string(kMalformed) + ": " + error.what());
  }

  // Validation, in the order decode_frame_level_protobuf checks.
  RecordErrors errors{source, {}};
  auto fail = [&errors](const std::string& reason) { errors.fail(reason); };
  const ContextState& context = walker.context();
  if (!context.id_present) fail(missing_feature(kContext, layout.id_key));
  if (context.id.kind != FeatureKind::kBytesList) {
    fail(wrong_kind(kContext, layout.id_key, FeatureKind::kBytesList, context.id.kind));
  }
  if (context.id.value_count != 1) fail(wrong_value_count(kContext, layout.id_key, 1, context.id.value_count));
  errors.id = context.id.first_bytes;

  if (!context.labels_present) fail(missing_feature(kContext, layout.labels_key));
  if (context.labels_kind != FeatureKind::kInt64List) {
    fail(wrong_kind(kContext, layout.labels_key, FeatureKind::kInt64List, context.labels_kind));
  }
  view.labels.clear();
  for (int64_t label : scratch.labels) {
    if (label < 0 || label >= layout.num_classes) fail(label_out_of_range(label, layout.num_classes));
    view.labels.push_back(int32_t(label));
  }

  for (size_t f = 0; f < num_features; ++f) {
    const std::string& name = layout.frame_features[f].name;
    const FrameFeatureState& state = scratch.frame_features[f];
    if (!state.present) fail(missing_feature(kFeatureList, name));
    const FrameProblem& problem = state.problem;
    switch (problem.kind) {
      case FrameProblem::Kind::kNone: break;
      case FrameProblem::Kind::kWrongKind: errors.fail(frame_wrong_kind(name, problem.frame, problem.got_kind));
      case FrameProblem::Kind::kWrongValueCount:
        errors.fail(frame_wrong_value_count(name, problem.frame, problem.got));
      case FrameProblem::Kind::kWrongSize:
        errors.fail(frame_wrong_size(name, problem.frame, problem.got, layout.frame_features[f].size));
    }
  }
  for (size_t f = 1; f < num_features; ++f) {
    if (view.frames[f].size() != view.frames[0].size()) {
      fail(frame_count_mismatch(layout.frame_features[0].name, int64_t(view.frames[0].size()),
                                layout.frame_features[f].name, int64_t(view.frames[f].size())));
    }
  }
  view.id = context.id.first_bytes;
  view.num_frames = num_features == 0 ? 0 : int64_t(view.frames[0].size());
}

}  // namespace ff::data
