// YouTube-8M records: the wire walker against libprotobuf on generated and fuzzed records, exact values of
// hand-built bytes, every validation message, dequantisation, and records written by Python's protobuf.
#include <catch2/catch.hpp>
#include <google/protobuf/stubs/logging.h>
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>

#include "data/wire_format.h"
#include "data/tfrecord.h"
#include "data/youtube8m.h"
#include "kernels/dequantize.h"
#include "support/temporary_directory.h"
#include "support/test_files.h"

namespace ff::data {
namespace {

using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
namespace w = wire;

// ---- hand-written wire bytes ----

std::string length_delimited(uint32_t field, std::string_view bytes) {
  std::string out;
  w::append_length_delimited(out, field, bytes);
  return out;
}

std::string varint_field(uint32_t field, uint64_t value) {
  std::string out;
  w::append_tag(out, field, w::kVarint);
  w::append_varint(out, value);
  return out;
}

// Feature{bytes_list{values...}}
std::string bytes_feature(const std::vector<std::string_view>& values) {
  std::string list;
  for (std::string_view value : values) list += length_delimited(1, value);
  return length_delimited(1, list);
}

// Feature{int64_list{values}}, packed (0x0A LEN varints) or one 0x08 varint per value.
std::string int64_feature(const std::vector<int64_t>& values, bool packed) {
  std::string list;
  if (packed) {
    std::string varints;
    for (int64_t value : values) w::append_varint(varints, uint64_t(value));
    list = length_delimited(1, varints);
  } else {
    for (int64_t value : values) list += varint_field(1, uint64_t(value));
  }
  return length_delimited(3, list);
}

// Feature{float_list{values}}, packed or one 0x0D fixed32 per value.
std::string float_feature(const std::vector<float>& values, bool packed) {
  std::string floats;
  for (float value : values) {
    uint32_t bits;
    std::memcpy(&bits, &value, 4);
    if (!packed) w::append_tag(floats, 1, w::kFixed32);
    w::append_fixed32(floats, bits);
  }
  return length_delimited(2, packed ? length_delimited(1, floats) : floats);
}

// A map entry {key, value}; the value may be given as several value fields that merge.
std::string map_entry(std::string_view key, const std::vector<std::string>& values, bool value_first = false) {
  std::string key_field = length_delimited(1, key), value_fields;
  for (const std::string& value : values) value_fields += length_delimited(2, value);
  return value_first ? value_fields + key_field : key_field + value_fields;
}

// ---- random records and their many valid encodings ----

YouTube8MLayout small_layout() {
  YouTube8MLayout layout;
  layout.frame_features = {{"rgb", 6}, {"audio", 3}};
  layout.num_classes = 50;
  return layout;
}

DecodedFrameLevel random_record(std::mt19937_64& rng, const YouTube8MLayout& layout, int64_t max_frames) {
  DecodedFrameLevel video;
  size_t id_length = std::uniform_int_distribution<size_t>(0, 12)(rng);
  for (size_t i = 0; i < id_length; ++i) video.id.push_back(char(rng()));
  size_t num_labels = std::uniform_int_distribution<size_t>(0, 8)(rng);
  for (size_t i = 0; i < num_labels; ++i) {
    video.labels.push_back(int32_t(std::uniform_int_distribution<int64_t>(0, layout.num_classes - 1)(rng)));
  }
  if (rng() % 4 == 0) video.labels.push_back(int32_t(layout.num_classes - 1));
  const int64_t special[] = {0, 1, 2, max_frames};
  video.num_frames = rng() % 2 ? special[rng() % 4] : std::uniform_int_distribution<int64_t>(0, max_frames)(rng);
  for (const FeatureSpec& spec : layout.frame_features) {
    std::vector<uint8_t> bytes(size_t(video.num_frames * spec.size));
    for (uint8_t& byte : bytes) byte = uint8_t(rng());
    video.features.push_back(std::move(bytes));
  }
  return video;
}

struct Encoding {
  bool packed_labels = true;
  bool unknown_fields = false;   // unknown fields at every level, unknown keys and feature lists
  bool shuffled_entries = false;
  bool value_before_key = false;
  bool replaced_entries = false;  // earlier entries with other contents under the same keys (last wins)
  bool split_values = false;      // values given as several merging value fields / oneof switches
  bool split_messages = false;    // context and feature_lists each written as two fields that merge
};

Encoding random_encoding(std::mt19937_64& rng) {
  Encoding e;
  e.packed_labels = rng() % 2;
  e.unknown_fields = rng() % 2;
  e.shuffled_entries = rng() % 2;
  e.value_before_key = rng() % 2;
  e.replaced_entries = rng() % 2;
  e.split_values = rng() % 2;
  e.split_messages = rng() % 2;
  return e;
}

// An unknown field of a random wire type, a group included.
std::string unknown_field(std::mt19937_64& rng) {
  uint32_t field = 5 + uint32_t(rng() % 40);
  std::string out;
  switch (rng() % 5) {
    case 0: return varint_field(field, rng() >> (rng() % 64));
    case 1:
      w::append_tag(out, field, w::kFixed64);
      out.append("abcdefgh");
      return out;
    case 2: return length_delimited(field, "unknown bytes");
    case 3:
      w::append_tag(out, field, w::kFixed32);
      out.append("wxyz");
      return out;
    default:
      w::append_tag(out, field, w::kStartGroup);
      out += varint_field(1, 7) + length_delimited(2, "in a group");
      w::append_tag(out, field, w::kEndGroup);
      return out;
  }
}

std::string hand_encode(const DecodedFrameLevel& video, const YouTube8MLayout& layout, const Encoding& e,
                        std::mt19937_64& rng) {
  auto junk = [&]() { return e.unknown_fields ? unknown_field(rng) : std::string(); };
  auto entry = [&](std::string_view key, std::vector<std::string> values) {
    for (std::string& value : values) value += junk();
    std::string bytes = map_entry(key, values, e.value_before_key) + junk();
    return length_delimited(1, bytes) + junk();
  };

  std::vector<std::string> context;
  std::vector<std::string> id_values;
  if (e.split_values) id_values.push_back(float_feature({1.5f}, rng() % 2));  // replaced by the bytes_list (oneof)
  id_values.push_back(bytes_feature({video.id}));
  std::vector<int64_t> labels(video.labels.begin(), video.labels.end());
  std::vector<std::string> label_values;
  if (e.split_values && labels.size() >= 2) {  // two int64_list pieces that concatenate
    size_t half = labels.size() / 2;
    label_values.push_back(int64_feature({labels.begin(), labels.begin() + long(half)}, e.packed_labels));
    label_values.push_back(int64_feature({labels.begin() + long(half), labels.end()}, !e.packed_labels));
  } else {
    label_values.push_back(int64_feature(labels, e.packed_labels));
  }
  if (e.replaced_entries) {
    context.push_back(entry(layout.id_key, {bytes_feature({"replaced", "twice"})}));
    context.push_back(entry(layout.labels_key, {bytes_feature({"not labels"})}));
  }
  context.push_back(entry(layout.id_key, id_values));
  context.push_back(entry(layout.labels_key, label_values));
  if (e.unknown_fields) {
    context.push_back(entry("segment_scores", {float_feature({0.5f, 1.0f}, rng() % 2)}));
    context.push_back(entry("segment_labels", {int64_feature({-1, 3, 1LL << 40}, rng() % 2)}));
  }

  std::vector<std::string> lists;
  for (size_t f = 0; f < layout.frame_features.size(); ++f) {
    const FeatureSpec& spec = layout.frame_features[f];
    std::vector<std::string> frames;
    for (int64_t t = 0; t < video.num_frames; ++t) {
      std::string_view frame(reinterpret_cast<const char*>(video.features[f].data()) + t * spec.size, size_t(spec.size));
      std::string list = length_delimited(1, frame) + junk();
      frames.push_back(length_delimited(1, length_delimited(1, list) + junk()) + junk());
    }
    if (e.replaced_entries) {
      lists.push_back(entry(spec.name, {length_delimited(1, bytes_feature({"short"})) +
                                        length_delimited(1, bytes_feature({"x", "y"}))}));
    }
    std::string first = frames.empty() ? "" : frames[0], rest;
    for (size_t t = 1; t < frames.size(); ++t) rest += frames[t];
    if (e.split_values && frames.size() >= 2) {  // the FeatureList's repeated Features continue across values
      lists.push_back(entry(spec.name, {first, rest}));
    } else {
      lists.push_back(entry(spec.name, {first + rest}));
    }
  }
  if (e.unknown_fields) {
    lists.push_back(entry("depth", {length_delimited(1, bytes_feature({"a"})) +
                                    length_delimited(1, float_feature({2.0f}, true))}));
  }

  if (e.shuffled_entries) {  // keep replaced entries before their replacements: shuffle only whole groups
    std::shuffle(context.begin() + (e.replaced_entries ? 2 : 0), context.end(), rng);
  }

  auto message = [&](uint32_t field, const std::vector<std::string>& entries) {
    if (e.split_messages && entries.size() >= 2) {
      size_t half = entries.size() / 2;
      std::string first, second;
      for (size_t i = 0; i < entries.size(); ++i) (i < half ? first : second) += entries[i];
      return length_delimited(field, first + junk()) + junk() + length_delimited(field, second);
    }
    std::string all;
    for (const std::string& part : entries) all += part;
    return length_delimited(field, all + junk());
  };
  std::string payload = junk() + message(1, context) + junk() + message(2, lists) + junk();
  if (e.unknown_fields) payload += std::string("\x12\x00", 2);  // the real records' trailing empty field
  return payload;
}

// ---- running both decoders ----

struct Outcome {
  bool ok = false;
  DecodedFrameLevel video;
  std::string reason;
};

Outcome run_walker(std::string_view payload, const YouTube8MLayout& layout, FrameLevelView& view) {
  Outcome outcome;
  try {
    decode_frame_level(payload, layout, view, {"walker.bin", 77});
    outcome.video = to_owning(view, layout);
    outcome.ok = true;
  } catch (const DataError& error) {
    outcome.reason = error.reason();
  }
  return outcome;
}

Outcome run_protobuf(std::string_view payload, const YouTube8MLayout& layout) {
  Outcome outcome;
  try {
    outcome.video = decode_frame_level_protobuf(payload, layout, {"protobuf.bin", 77});
    outcome.ok = true;
  } catch (const DataError& error) {
    outcome.reason = error.reason();
  }
  return outcome;
}

bool is_malformed(const std::string& reason) { return reason.rfind(std::string(youtube8m_reasons::kMalformed), 0) == 0; }

std::string error_of(const std::function<void()>& decode) {
  try {
    decode();
  } catch (const DataError& error) {
    return error.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("the wire walker and libprotobuf agree on generated records", "[youtube8m]") {
  std::mt19937_64 rng(8);
  FrameLevelView view;  // reused across records, as the loader does
  int records = 0;
  for (const YouTube8MLayout& layout : {YouTube8MLayout::v2018(), YouTube8MLayout::v2017()}) {
    for (int i = 0; i < 60; ++i) {
      DecodedFrameLevel video = random_record(rng, layout, 300);
      Encoding encoding = random_encoding(rng);
      std::string payload = i % 3 == 0 ? encode_frame_level(video, layout) : hand_encode(video, layout, encoding, rng);
      INFO("layout id key " << layout.id_key << ", record " << i << ", frames " << video.num_frames);
      Outcome walker = run_walker(payload, layout, view);
      Outcome reference = run_protobuf(payload, layout);
      REQUIRE(walker.reason == "");
      REQUIRE(reference.reason == "");
      CHECK(walker.video == video);
      CHECK(reference.video == video);
      CHECK(view.num_frames == video.num_frames);
      ++records;
    }
  }
  CHECK(records == 120);
}

TEST_CASE("the wire walker and libprotobuf accept and reject the same fuzzed bytes", "[youtube8m]") {
  google::protobuf::LogSilencer quiet;  // libprotobuf logs every invalid UTF-8 key it meets
  std::mt19937_64 rng(2018);
  FrameLevelView view;
  int both_ok = 0, both_malformed = 0, both_invalid = 0;
  for (int i = 0; i < 12000; ++i) {
    YouTube8MLayout layout = i % 5 == 4 ? YouTube8MLayout::v2018() : small_layout();
    DecodedFrameLevel video = random_record(rng, layout, i % 5 == 4 ? 2 : 4);
    std::string payload = hand_encode(video, layout, random_encoding(rng), rng);
    int mutations = 1 + int(rng() % 3);
    for (int m = 0; m < mutations; ++m) {
      size_t at = payload.empty() ? 0 : rng() % payload.size();
      switch (rng() % 6) {
        case 0:  // a random byte
          if (!payload.empty()) payload[at] = char(rng());
          break;
        case 1:  // one flipped bit
          if (!payload.empty()) payload[at] = char(payload[at] ^ (1 << (rng() % 8)));
          break;
        case 2:  // truncated
          payload.resize(at);
          break;
        case 3:  // inserted random bytes
          for (size_t k = rng() % 4 + 1; k > 0; --k) payload.insert(payload.begin() + long(at), char(rng()));
          break;
        case 4:  // deleted bytes
          payload.erase(at, rng() % 4 + 1);
          break;
        default:  // a small length or varint nudged by one
          if (!payload.empty()) payload[at] = char(payload[at] + (rng() % 2 ? 1 : -1));
          break;
      }
    }
    Outcome walker = run_walker(payload, layout, view);
    Outcome reference = run_protobuf(payload, layout);
    INFO("input " << i << ": walker '" << walker.reason << "', libprotobuf '" << reference.reason << "'");
    REQUIRE(walker.ok == reference.ok);
    if (walker.ok) {
      REQUIRE(walker.video == reference.video);
      ++both_ok;
    } else if (is_malformed(reference.reason)) {
      REQUIRE(is_malformed(walker.reason));
      ++both_malformed;
    } else {
      REQUIRE(walker.reason == reference.reason);  // a validation failure reads the same from both
      ++both_invalid;
    }
  }
  // Each outcome must be well represented, or the fuzzing tests less than it claims.
  INFO("ok " << both_ok << ", malformed " << both_malformed << ", invalid " << both_invalid);
  CHECK(both_ok > 1000);
  CHECK(both_malformed > 5000);
  CHECK(both_invalid > 200);
}

TEST_CASE("wire edge cases follow libprotobuf", "[youtube8m]") {
  google::protobuf::LogSilencer quiet;
  YouTube8MLayout layout = small_layout();
  FrameLevelView view;
  DecodedFrameLevel video;
  video.id = "ab";
  video.labels = {1, 2};
  video.num_frames = 1;
  video.features = {{1, 2, 3, 4, 5, 6}, {7, 8, 9}};
  std::string valid = encode_frame_level(video, layout);

  auto both = [&](const std::string& payload) {
    Outcome walker = run_walker(payload, layout, view), reference = run_protobuf(payload, layout);
    INFO("walker '" << walker.reason << "', libprotobuf '" << reference.reason << "'");
    REQUIRE(walker.ok == reference.ok);
    if (walker.ok) CHECK(walker.video == reference.video);
    return walker;
  };
  auto group = [](uint32_t field, int depth) {
    std::string open, close;
    for (int i = 0; i < depth; ++i) w::append_tag(open, field, w::kStartGroup), w::append_tag(close, field, w::kEndGroup);
    return open + close;
  };
  CHECK(both(valid).ok);
  // Groups of unknown fields nest at most 100 deep counting the messages around them.
  CHECK(both(group(9, 100) + valid).ok);
  CHECK_FALSE(both(group(9, 101) + valid).ok);
  CHECK(both(length_delimited(1, group(9, 99)) + valid).ok);
  CHECK_FALSE(both(length_delimited(1, group(9, 100)) + valid).ok);
  // Field number 0, a stray end-group tag, wire types 6 and 7.
  for (std::string bad : {std::string("\x00\x01", 2), std::string("\x02\x00", 2), std::string("\x0c"),
                          std::string("\x0e"), std::string("\x0f")}) {
    CHECK(is_malformed(both(bad + valid).reason));
  }
  // An 11-byte varint fails; a 10-byte one with bits past the 64th is accepted (they are dropped).
  CHECK(both(std::string("\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f") + valid).ok);
  CHECK_FALSE(both(std::string("\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01") + valid).ok);
  // Tags keep their low 32 bits; an overlong 5-byte length is fine, a 6-byte one is not.
  CHECK(both(std::string("\x80\x80\x80\x80\x7f\x00", 6) + valid).ok);
  CHECK(both(std::string("\x1a\x80\x80\x80\x80\x00", 6) + valid).ok);
  CHECK_FALSE(both(std::string("\x1a\x80\x80\x80\x80\x80\x00", 7) + valid).ok);
  // Known field numbers with another wire type are unknown fields.
  CHECK(both(std::string("\x08\x05\x15\x01\x02\x03\x04") + valid).ok);
  // Map keys are proto3 strings: invalid UTF-8 rejects the record even in an unused entry.
  CHECK_FALSE(both(valid + length_delimited(1, length_delimited(1, map_entry("\xc0\xaf", {})))).ok);
  CHECK(both(valid + length_delimited(1, length_delimited(1, map_entry("\xe2\x82\xac", {})))).ok);
  // Packed floats must be whole 4-byte values.
  std::string odd_floats = length_delimited(2, length_delimited(1, "abc"));
  CHECK_FALSE(both(valid + length_delimited(1, length_delimited(1, map_entry("f", {odd_floats})))).ok);
}

TEST_CASE("a tiny SequenceExample written byte by byte decodes to exact values", "[youtube8m]") {
  YouTube8MLayout layout;
  layout.frame_features = {{"rgb", 4}, {"audio", 2}};
  // context: {id: ["v1"]}, {labels: packed [3]}; feature_lists: audio before rgb (map entries come in any
  // order); then the empty field 2 that real records end with.
  const std::string payload(
      "\x0a\x1f"                                   // context, 31 bytes
      "\x0a\x0c" "\x0a\x02" "id" "\x12\x06" "\x0a\x04" "\x0a\x02" "v1"   // {id: bytes_list ["v1"]}
      "\x0a\x0f" "\x0a\x06" "labels" "\x12\x05" "\x1a\x03" "\x0a\x01" "\x03"  // {labels: int64_list packed [3]}
      "\x12\x38"                                   // feature_lists, 56 bytes
      "\x0a\x19" "\x0a\x05" "audio" "\x12\x10"
      "\x0a\x06" "\x0a\x04" "\x0a\x02" "\x00\xff"  // audio frame 0
      "\x0a\x06" "\x0a\x04" "\x0a\x02" "\x80\x01"  // audio frame 1
      "\x0a\x1b" "\x0a\x03" "rgb" "\x12\x14"
      "\x0a\x08" "\x0a\x06" "\x0a\x04" "\x01\x02\x03\x04"   // rgb frame 0
      "\x0a\x08" "\x0a\x06" "\x0a\x04" "\x05\x06\x07\x08"   // rgb frame 1
      "\x12\x00",                                  // the trailing empty field 2
      2 + 31 + 2 + 56 + 2);
  FrameLevelView view;
  decode_frame_level(payload, layout, view, {"tiny", 0});
  CHECK(view.id == "v1");
  CHECK(view.labels == std::vector<int32_t>{3});
  REQUIRE(view.num_frames == 2);
  REQUIRE(view.frames.size() == 2);
  CHECK(std::vector<uint8_t>(view.frames[0][0], view.frames[0][0] + 4) == std::vector<uint8_t>{1, 2, 3, 4});
  CHECK(std::vector<uint8_t>(view.frames[0][1], view.frames[0][1] + 4) == std::vector<uint8_t>{5, 6, 7, 8});
  CHECK(std::vector<uint8_t>(view.frames[1][0], view.frames[1][0] + 2) == std::vector<uint8_t>{0x00, 0xff});
  CHECK(std::vector<uint8_t>(view.frames[1][1], view.frames[1][1] + 2) == std::vector<uint8_t>{0x80, 0x01});
  // Zero copies: the frame pointers point into the payload.
  CHECK(reinterpret_cast<const char*>(view.frames[0][0]) == payload.data() + payload.find("\x01\x02\x03\x04"));
  CHECK(view.id.data() == payload.data() + payload.find("v1"));

  DecodedFrameLevel expected{"v1", {3}, 2, {{1, 2, 3, 4, 5, 6, 7, 8}, {0x00, 0xff, 0x80, 0x01}}};
  CHECK(decode_frame_level_protobuf(payload, layout, {"tiny", 0}) == expected);
  CHECK(to_owning(view, layout) == expected);

  // Dequantised on the CPU, frame-major.
  std::vector<float> audio(4);
  dequantize_frames(view, layout, 1, audio.data());
  CHECK(audio == std::vector<float>{dequantize_value(0), dequantize_value(255), dequantize_value(128),
                                    dequantize_value(1)});
}

TEST_CASE("labels may be packed or unpacked, and a repeated key's last entry wins", "[youtube8m]") {
  YouTube8MLayout layout = small_layout();
  std::string frames = length_delimited(2, length_delimited(1, map_entry("rgb", {""})) +
                                               length_delimited(1, map_entry("audio", {""})));
  auto with_context = [&](const std::string& entries) { return length_delimited(1, entries) + frames; };
  std::string id = length_delimited(1, map_entry("id", {bytes_feature({"x"})}));
  FrameLevelView view;
  for (bool packed : {true, false}) {
    std::string payload = with_context(id + length_delimited(1, map_entry("labels", {int64_feature({4, 0, 49}, packed)})));
    decode_frame_level(payload, layout, view, {});
    CHECK(view.labels == std::vector<int32_t>{4, 0, 49});
    CHECK(view.num_frames == 0);  // zero frames is a valid record
    CHECK(decode_frame_level_protobuf(payload, layout, {}).labels == std::vector<int32_t>{4, 0, 49});
  }
  std::string twice = with_context(id + length_delimited(1, map_entry("labels", {int64_feature({1}, true)})) +
                                   length_delimited(1, map_entry("labels", {int64_feature({2, 3}, false)})));
  decode_frame_level(twice, layout, view, {});
  CHECK(view.labels == std::vector<int32_t>{2, 3});
  CHECK(decode_frame_level_protobuf(twice, layout, {}).labels == std::vector<int32_t>{2, 3});
}

TEST_CASE("every validation failure names its reason, file, offset and id", "[youtube8m]") {
  YouTube8MLayout layout = small_layout();
  DecodedFrameLevel video{"vid7", {1, 49}, 3, {std::vector<uint8_t>(18, 1), std::vector<uint8_t>(9, 2)}};
  FrameLevelView view;
  // Both decoders must give exactly `expected` (the full what(): file, offset, id, reason).
  auto require_error = [&](const std::string& payload, const std::string& expected) {
    std::string from_walker = error_of([&] { decode_frame_level(payload, layout, view, {"shard7.tfrecord", 4096}); });
    std::string from_protobuf = error_of([&] { decode_frame_level_protobuf(payload, layout, {"shard7.tfrecord", 4096}); });
    CHECK(from_walker == expected);
    CHECK(from_protobuf == expected);
  };
  // Builds the record by hand with one part replaced.
  auto record = [&](std::string id_feature, std::string labels_feature, std::vector<std::string> rgb_frames,
                    std::vector<std::string> audio_frames, bool with_id = true, bool with_rgb = true) {
    std::string context;
    if (with_id) context += length_delimited(1, map_entry("id", {id_feature}));
    if (!labels_feature.empty()) context += length_delimited(1, map_entry("labels", {labels_feature}));
    auto list = [](const std::vector<std::string>& frames) {
      std::string out;
      for (const std::string& frame : frames) out += length_delimited(1, frame);
      return out;
    };
    std::string lists = length_delimited(1, map_entry("audio", {list(audio_frames)}));
    if (with_rgb) lists += length_delimited(1, map_entry("rgb", {list(rgb_frames)}));
    return length_delimited(1, context) + length_delimited(2, lists);
  };
  std::string id = bytes_feature({"vid7"}), labels = int64_feature({1, 49}, true);
  std::string rgb = bytes_feature({"abcdef"}), audio = bytes_feature({"xyz"});
  std::vector<std::string> rgb3 = {rgb, rgb, rgb}, audio3 = {audio, audio, audio};

  std::string ok = record(id, labels, rgb3, audio3);
  decode_frame_level(ok, layout, view, {});
  CHECK(view.id == "vid7");

  const std::string at = "shard7.tfrecord: offset 4096";
  const std::string at_id = at + " (id 'vid7'): ";
  require_error(record(id, int64_feature({1, 50}, true), rgb3, audio3), at_id + "label 50 outside [0, 50)");
  require_error(record(id, int64_feature({-1}, false), rgb3, audio3), at_id + "label -1 outside [0, 50)");
  require_error(record(id, labels, {rgb, bytes_feature({"abcde"}), rgb}, audio3),
                at_id + "feature list 'rgb' frame 1 has 5 bytes, expected 6");
  require_error(record(id, labels, rgb3, {audio, audio, audio, bytes_feature({"toolong"})}),
                at_id + "feature list 'audio' frame 3 has 7 bytes, expected 3");
  require_error(record(id, labels, rgb3, {audio, audio}),
                at_id + "feature lists 'rgb' and 'audio' have different frame counts: 3 and 2");
  require_error(record(id, labels, rgb3, audio3, true, false), at_id + "missing feature list 'rgb'");
  require_error(record(id, "", rgb3, audio3), at_id + "missing context feature 'labels'");
  require_error(record(id, labels, rgb3, audio3, false), at + ": missing context feature 'id'");
  require_error(record(id, bytes_feature({"1"}), rgb3, audio3),
                at_id + "context feature 'labels' must be an int64_list, got a bytes_list");
  require_error(record(int64_feature({7}, true), labels, rgb3, audio3),
                at + ": context feature 'id' must be a bytes_list, got an int64_list");
  require_error(record(bytes_feature({"a", "b"}), labels, rgb3, audio3),
                at + ": context feature 'id' has 2 values, expected exactly 1");
  require_error(record(id, labels, {rgb, float_feature({1.0f}, true), rgb}, audio3),
                at_id + "feature list 'rgb' frame 1 must be a bytes_list, got a float_list");
  require_error(record(id, labels, {rgb, "", rgb}, audio3),
                at_id + "feature list 'rgb' frame 1 must be a bytes_list, got an empty Feature");
  require_error(record(id, labels, {rgb, rgb, bytes_feature({"abcdef", "abcdef"})}, audio3),
                at_id + "feature list 'rgb' frame 2 has 2 bytes values, expected exactly 1");

  // Malformed wire data: a DataError naming the problem (the walker) or the message type (libprotobuf).
  std::string truncated = ok.substr(0, ok.size() - 3);
  CHECK_THAT(error_of([&] { decode_frame_level(truncated, layout, view, {"shard7.tfrecord", 4096}); }),
             StartsWith(at + ": malformed protobuf: length ") && Contains("beyond the end of the buffer at payload byte"));
  CHECK(error_of([&] { decode_frame_level_protobuf(truncated, layout, {"shard7.tfrecord", 4096}); }) ==
        at + ": malformed protobuf: not a valid SequenceExample");
  CHECK_THAT(error_of([&] { decode_frame_level(ok + "\x08", layout, view, {"f", 0}); }),
             Contains("truncated varint"));
  CHECK_THAT(error_of([&] { decode_frame_level(ok + "\x08\x80", layout, view, {"f", 0}); }),
             Contains("truncated varint"));
  CHECK_THAT(error_of([&] { decode_frame_level(ok + "\x0f", layout, view, {"f", 0}); }), Contains("invalid wire type 7"));
  CHECK_THAT(error_of([&] { decode_frame_level(ok + "\x0c", layout, view, {"f", 0}); }),
             Contains("unexpected end-group tag"));
  // Every truncation of a valid record is an error (never a read past the end), except the empty
  // record, whose error is a missing id.
  for (size_t length = 0; length < ok.size(); ++length) {
    std::string cut = ok.substr(0, length);
    CHECK_THROWS_AS(decode_frame_level(cut, layout, view, {}), DataError);
  }
  CHECK(error_of([&] { decode_frame_level("", layout, view, {"f", 1}); }) == "f: offset 1: missing context feature 'id'");
}

TEST_CASE("video-level records decode, including the real files' trailing empty field", "[youtube8m]") {
  YouTube8MLayout layout;
  layout.video_features = {{"mean_rgb", 3}, {"mean_audio", 2}};
  DecodedVideoLevel video{"Xy9a", {0, 3861}, {{-1.9921875f, 0.5f, 2.0078125f}, {0.25f, -0.125f}}};
  std::string payload = encode_video_level(video, layout);
  CHECK(decode_video_level(payload, layout, {}) == video);
  CHECK(decode_video_level(payload + std::string("\x12\x00", 2), layout, {}) == video);

  // By hand, with unpacked floats and entries in another order.
  std::string features = length_delimited(1, map_entry("mean_audio", {float_feature({0.25f, -0.125f}, false)})) +
                         length_delimited(1, map_entry("labels", {int64_feature({0, 3861}, false)})) +
                         length_delimited(1, map_entry("mean_rgb", {float_feature({-1.9921875f, 0.5f, 2.0078125f}, true)})) +
                         length_delimited(1, map_entry("id", {bytes_feature({"Xy9a"})}));
  CHECK(decode_video_level(length_delimited(1, features) + std::string("\x12\x00", 2), layout, {}) == video);

  DecodedVideoLevel short_rgb = video;
  short_rgb.features[0].pop_back();
  layout.video_features[0].size = 2;
  std::string short_payload = encode_video_level(short_rgb, layout);
  layout.video_features[0].size = 3;
  CHECK(error_of([&] { decode_video_level(short_payload, layout, {"v.tfrecord", 16}); }) ==
        "v.tfrecord: offset 16 (id 'Xy9a'): feature 'mean_rgb' has 2 values, expected exactly 3");
  YouTube8MLayout other = layout;
  other.video_features[1].name = "mean_depth";
  CHECK(error_of([&] { decode_video_level(payload, other, {"v.tfrecord", 16}); }) ==
        "v.tfrecord: offset 16 (id 'Xy9a'): missing feature 'mean_depth'");
  CHECK(error_of([&] { decode_video_level(payload.substr(0, 10), layout, {"v.tfrecord", 16}); }) ==
        "v.tfrecord: offset 16: malformed protobuf: not a valid Example");
  CHECK_THROWS_AS(encode_video_level(short_rgb, layout), std::invalid_argument);
}

TEST_CASE("dequantisation matches the starter code's formula", "[youtube8m]") {
  CHECK(dequantize_value(0) == -1.9921875f);
  CHECK(dequantize_value(255) == 2.0078125f);
  // 128 * 4/255 - 2 + 4/512 = 0.01565563725... in exact arithmetic; float32 as the starter code computes it
  // (float(4/255) * 128 rounded near 2.0078, then -1.9921875 added) gives 0x1.0081p-6 = 0.015655756.
  CHECK(dequantize_value(128) == 0x1.0081p-6f);
  CHECK(std::fabs(double(dequantize_value(128)) - (128.0 * 4.0 / 255.0 - 2.0 + 4.0 / 512.0)) < 2.5e-7);
  CHECK(std::fabs(double(dequantize_value(127)) - (127.0 * 4.0 / 255.0 - 2.0 + 4.0 / 512.0)) < 2.5e-7);

  YouTube8MLayout layout = small_layout();
  DecodedFrameLevel video{"d", {}, 2, {{0, 255, 128, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {10, 11, 12, 13, 14, 15}}};
  FrameLevelView view;
  std::string payload = encode_frame_level(video, layout);  // the view points into it
  decode_frame_level(payload, layout, view, {});
  std::vector<float> rgb(12);
  dequantize_frames(view, layout, 0, rgb.data());
  for (size_t i = 0; i < rgb.size(); ++i) CHECK(rgb[i] == dequantize_value(video.features[0][i]));
  CHECK(rgb[0] == -1.9921875f);
  CHECK(rgb[1] == 2.0078125f);
  CHECK_THROWS_AS(dequantize_frames(view, layout, 2, rgb.data()), std::invalid_argument);
}

TEST_CASE("layouts and feature flags", "[youtube8m]") {
  YouTube8MLayout v2018 = YouTube8MLayout::from_name("2018"), v2017 = YouTube8MLayout::from_name("2017");
  CHECK(v2018.id_key == "id");
  CHECK(v2018.num_classes == 3862);
  CHECK(v2017.id_key == "video_id");
  CHECK(v2017.num_classes == 4716);
  CHECK(v2017.frame_features.size() == 2);
  CHECK(v2017.video_features[1].name == "mean_audio");
  CHECK_THROWS_WITH(YouTube8MLayout::from_name("2019"), Contains("'2019'"));

  std::vector<FeatureSpec> specs = parse_feature_specs("rgb,audio", "1024,128");
  REQUIRE(specs.size() == 2);
  CHECK((specs[0].name == "rgb" && specs[0].size == 1024 && specs[1].name == "audio" && specs[1].size == 128));
  CHECK(parse_feature_specs("mean_rgb", "1024")[0].size == 1024);
  CHECK_THROWS_WITH(parse_feature_specs("rgb,audio", "1024"), Contains("has 2 entries") && Contains("has 1"));
  CHECK_THROWS_WITH(parse_feature_specs("rgb,rgb", "1,2"), Contains("'rgb' appears twice"));
  CHECK_THROWS_WITH(parse_feature_specs("rgb,", "1,2"), Contains("empty name"));
  CHECK_THROWS_WITH(parse_feature_specs("rgb", "x"), Contains("'x' is not a positive integer"));
  CHECK_THROWS_WITH(parse_feature_specs("rgb", "0"), Contains("'0' is not a positive integer"));
  CHECK_THROWS_WITH(parse_feature_specs("rgb", "12abc"), Contains("not a positive integer"));
}

TEST_CASE("a TFRecord file written by Python (protobuf, crc32c) reads back field by field", "[youtube8m][python]") {
  test::TemporaryDirectory directory;
  std::string records_path = directory.file("records.bin"), expected_path = directory.file("expected.json");
  test::CommandResult python = test::run_python_script(
      "write_youtube8m.py", std::string("'") + FF_SOURCE_DIR + "/data/proto/example.proto' '" + records_path + "' '" +
                                expected_path + "'");
  INFO("command: " << python.command);
  INFO("output: " << python.output);
  // Missing python3-protobuf or protoc is a failure, not a skip: a skip would hide that this check stopped.
  REQUIRE(python.status == 0);

  std::ifstream expected_file(expected_path);
  nlohmann::json expected = nlohmann::json::parse(expected_file);
  TFRecordReader reader(records_path);  // framed by Python (struct + python3-crc32c)

  auto hex = [](std::string_view bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) out += digits[c >> 4], out += digits[c & 15];
    return out;
  };
  size_t frame_records = 0, video_records = 0;
  FrameLevelView view;
  std::string_view payload;
  for (const nlohmann::json& record : expected) {
    REQUIRE(reader.next(payload));
    RecordSource source{records_path, reader.record_offset()};
    YouTube8MLayout layout = YouTube8MLayout::from_name(record["layout"]);
    INFO("record " << record["id"] << " (" << record["kind"] << ")");
    if (record["kind"] == "frame") {
      decode_frame_level(payload, layout, view, source);
      CHECK(hex(view.id) == record["id"]);
      CHECK(view.labels == record["labels"].get<std::vector<int32_t>>());
      CHECK(view.num_frames == record["num_frames"].get<int64_t>());
      DecodedFrameLevel owned = to_owning(view, layout);
      CHECK(decode_frame_level_protobuf(payload, layout, source) == owned);
      REQUIRE(owned.features.size() == record["features"].size());
      for (size_t f = 0; f < owned.features.size(); ++f) {
        const nlohmann::json& feature = record["features"][f];
        CHECK(feature["name"] == layout.frame_features[f].name);
        const std::vector<uint8_t>& bytes = owned.features[f];
        CHECK(bytes.size() == feature["bytes"].get<size_t>());
        CHECK(crc32(0, bytes.data(), uInt(bytes.size())) == feature["crc32"].get<uLong>());
        std::string_view first(reinterpret_cast<const char*>(bytes.data()),
                               std::min<size_t>(bytes.size(), size_t(layout.frame_features[f].size)));
        CHECK(hex(first) == feature["first_frame"]);
      }
      ++frame_records;
    } else {
      DecodedVideoLevel video = decode_video_level(payload, layout, source);
      CHECK(hex(video.id) == record["id"]);
      CHECK(video.labels == record["labels"].get<std::vector<int32_t>>());
      REQUIRE(video.features.size() == record["features"].size());
      for (size_t f = 0; f < video.features.size(); ++f) {
        CHECK(record["features"][f]["name"] == layout.video_features[f].name);
        CHECK(video.features[f] == record["features"][f]["values"].get<std::vector<float>>());
      }
      ++video_records;
    }
  }
  CHECK_FALSE(reader.next(payload));
  CHECK(frame_records == 5);
  CHECK(video_records == 3);
}

}  // namespace ff::data
