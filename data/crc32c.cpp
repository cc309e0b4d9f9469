// CRC-32C through ISA-L, which picks the fastest implementation the CPU supports (SSE4.2 crc32 / PCLMUL)
// at run time. ISA-L's crc32_iscsi works on the raw register: it neither inverts the seed nor the result,
// so the RFC 3720 convention (initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF) is applied here.
#include <isa-l/crc.h>

#include "data/tfrecord.h"

namespace ff::data {

namespace {
constexpr uint32_t kMaskDelta = 0xa282ead8u;  // TensorFlow's crc32c::kMaskDelta
}

uint32_t crc32c(const void* data, size_t size) {
  if (size == 0) return 0;  // the CRC of nothing; also keeps a null pointer away from ISA-L
  // crc32_iscsi takes an int length: feed very large buffers in pieces, carrying the raw register.
  const unsigned char* bytes = static_cast<const unsigned char*>(data);
  uint32_t crc = 0xFFFFFFFFu;
  constexpr size_t kPiece = size_t(1) << 30;
  while (size > 0) {
    size_t piece = size < kPiece ? size : kPiece;
    crc = crc32_iscsi(const_cast<unsigned char*>(bytes), int(piece), crc);
    bytes += piece;
    size -= piece;
  }
  return crc ^ 0xFFFFFFFFu;
}

// A CRC over data that itself contains CRCs is weak, so TFRecord stores CRCs rotated and offset.
uint32_t mask_crc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }

uint32_t unmask_crc(uint32_t masked) {
  uint32_t rotated = masked - kMaskDelta;
  return (rotated >> 17) | (rotated << 15);
}

}  // namespace ff::data
