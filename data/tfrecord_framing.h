// The byte layout of one TFRecord, shared by the reader and the writer:
//   u64 length (LE) | u32 masked CRC32C of those 8 bytes | payload | u32 masked CRC32C of the payload
// The fixed-width fields are little-endian on every host (TensorFlow's EncodeFixed32/64).
#pragma once
#include <cstddef>
#include <cstdint>

namespace ff::data {

inline constexpr size_t kTFRecordHeaderBytes = 12;  // length + its CRC
inline constexpr size_t kTFRecordFooterBytes = 4;   // the payload's CRC

inline void encode_fixed32(char* out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out[i] = char(uint8_t(value >> (8 * i)));
}

inline void encode_fixed64(char* out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out[i] = char(uint8_t(value >> (8 * i)));
}

inline uint32_t decode_fixed32(const char* in) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value |= uint32_t(uint8_t(in[i])) << (8 * i);
  return value;
}

inline uint64_t decode_fixed64(const char* in) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value |= uint64_t(uint8_t(in[i])) << (8 * i);
  return value;
}

}  // namespace ff::data
