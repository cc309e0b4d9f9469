// The protobuf wire format at the level of single fields: varints, tags, length-delimited fields, and
// skipping fields a decoder does not know. The reader follows libprotobuf's acceptance rules, so a
// hand-written decoder built on it accepts and rejects the same bytes:
//   - a varint has at most 10 bytes (bits past the 64th are dropped); a tag at most 5 bytes, truncated
//     to 32 bits; a length at most 5 bytes and below 2^31;
//   - field number 0 is invalid, as are wire types 6 and 7 and an end-group tag outside its group;
//   - groups (wire types 3/4) of unknown fields are skipped, nested messages and groups together at most
//     kMaxNestingDepth deep (libprotobuf's default recursion limit).
// Every read is bounds-checked against the end of its (sub-)buffer: malformed input throws WireError,
// never reads outside the buffer.
#pragma once
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ff::data::wire {

enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5,
};

constexpr uint32_t make_tag(uint32_t field, WireType type) { return (field << 3) | type; }
constexpr uint32_t field_number(uint32_t tag) { return tag >> 3; }
constexpr WireType wire_type(uint32_t tag) { return WireType(tag & 7); }

constexpr int kMaxNestingDepth = 100;

// Malformed bytes; offset counts from the start of the outermost buffer (the record's payload).
class WireError : public std::runtime_error {
 public:
  WireError(const std::string& reason, size_t offset)
      : std::runtime_error(reason + " at payload byte " + std::to_string(offset)), offset_(offset) {}
  size_t offset() const { return offset_; }

 private:
  size_t offset_;
};

// proto3 `string` fields must be valid UTF-8 (RFC 3629: no overlong forms, no surrogates, at most
// U+10FFFF); libprotobuf rejects the whole message otherwise.
inline bool is_valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  size_t i = 0, n = text.size();
  while (i < n) {
    uint32_t c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    uint32_t code_point, minimum;
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2, code_point = c & 0x1F, minimum = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3, code_point = c & 0x0F, minimum = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4, code_point = c & 0x07, minimum = 0x10000;
    } else {
      return false;
    }
    if (n - i < length) return false;
    for (size_t k = 1; k < length; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (p[i + k] & 0x3F);
    }
    if (code_point < minimum || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

// A cursor over [begin, end) of a buffer that starts at `base` (offsets in errors are relative to base).
class Reader {
 public:
  Reader(const uint8_t* base, const uint8_t* begin, const uint8_t* end) : base_(base), pos_(begin), end_(end) {}
  explicit Reader(std::string_view buffer)
      : Reader(reinterpret_cast<const uint8_t*>(buffer.data()), reinterpret_cast<const uint8_t*>(buffer.data()),
               reinterpret_cast<const uint8_t*>(buffer.data()) + buffer.size()) {}

  bool at_end() const { return pos_ == end_; }
  size_t offset() const { return size_t(pos_ - base_); }
  const uint8_t* position() const { return pos_; }

  uint32_t read_tag() {
    uint32_t tag;
    if (pos_ < end_ && *pos_ < 0x80) {
      tag = *pos_++;
    } else {
      tag = uint32_t(read_varint_bounded(5, "tag"));
    }
    if (field_number(tag) == 0) fail("invalid field number 0");
    return tag;
  }

  uint64_t read_varint() {
    if (pos_ < end_ && *pos_ < 0x80) return *pos_++;
    return read_varint_bounded(10, "varint");
  }

  // The payload of a length-delimited field, as a reader over exactly those bytes.
  Reader read_length_delimited() {
    size_t length = read_length();
    Reader inner(base_, pos_, pos_ + length);
    pos_ += length;
    return inner;
  }

  std::string_view read_bytes() {
    size_t length = read_length();
    std::string_view bytes(reinterpret_cast<const char*>(pos_), length);
    pos_ += length;
    return bytes;
  }

  uint32_t read_fixed32() {
    require(4, "truncated fixed32");
    uint32_t value;
    std::memcpy(&value, pos_, 4);  // little-endian hosts only, like every target of this project
    pos_ += 4;
    return value;
  }

  // Skips the field whose tag was just read. `depth` is the nesting depth of the message being parsed
  // (0 for the outermost); a group opens one more level.
  void skip_field(uint32_t tag, int depth) {
    switch (wire_type(tag)) {
      case kVarint:
        read_varint();
        return;
      case kFixed64:
        require(8, "truncated fixed64");
        pos_ += 8;
        return;
      case kLengthDelimited:
        pos_ += read_length();
        return;
      case kFixed32:
        require(4, "truncated fixed32");
        pos_ += 4;
        return;
      case kStartGroup:
        skip_group(field_number(tag), depth + 1);
        return;
      case kEndGroup:
        fail("unexpected end-group tag");
      default:
        fail("invalid wire type " + std::to_string(int(wire_type(tag))));
    }
  }

  [[noreturn]] void fail(const std::string& reason) const { throw WireError(reason, offset()); }

 private:
  void require(size_t bytes, const char* reason) const {
    if (size_t(end_ - pos_) < bytes) fail(reason);
  }

  uint64_t read_varint_bounded(int max_bytes, const char* what) {
    uint64_t value = 0;
    for (int i = 0; i < max_bytes; ++i) {
      if (pos_ == end_) fail(std::string("truncated ") + what);
      uint8_t byte = *pos_++;
      if (i < 10) value |= uint64_t(byte & 0x7F) << (7 * i);
      if (byte < 0x80) return value;
    }
    fail(std::string(what) + " longer than " + std::to_string(max_bytes) + " bytes");
  }

  size_t read_length() {
    uint64_t length = (pos_ < end_ && *pos_ < 0x80) ? *pos_++ : read_varint_bounded(5, "length");
    if (length > uint64_t(end_ - pos_)) fail("length " + std::to_string(length) + " beyond the end of the buffer");
    return size_t(length);
  }

  void skip_group(uint32_t field, int depth) {
    if (depth > kMaxNestingDepth) fail("groups nested deeper than " + std::to_string(kMaxNestingDepth));
    for (;;) {
      if (at_end()) fail("unterminated group");
      uint32_t tag = read_tag();
      if (wire_type(tag) == kEndGroup) {
        if (field_number(tag) != field) fail("end-group tag does not match its group");
        return;
      }
      skip_field(tag, depth);
    }
  }

  const uint8_t* base_;
  const uint8_t* pos_;
  const uint8_t* end_;
};

// The writing side, for building records and hand-made test bytes.
inline void append_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(char(uint8_t(value) | 0x80));
    value >>= 7;
  }
  out.push_back(char(value));
}

inline void append_tag(std::string& out, uint32_t field, WireType type) { append_varint(out, make_tag(field, type)); }

inline void append_length_delimited(std::string& out, uint32_t field, std::string_view bytes) {
  append_tag(out, field, kLengthDelimited);
  append_varint(out, bytes.size());
  out.append(bytes);
}

inline void append_fixed32(std::string& out, uint32_t value) {
  char bytes[4];
  std::memcpy(bytes, &value, 4);
  out.append(bytes, 4);
}

}  // namespace ff::data::wire
