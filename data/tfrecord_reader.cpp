// Streaming TFRecord reader. The file is read chunk by chunk into one buffer that holds the unread bytes;
// a record that straddles chunks is completed by compacting the buffer and reading more, growing it only
// as bytes actually arrive, so memory stays at about one chunk plus the largest record (and a corrupt
// length field cannot make it allocate more than the file holds). Errors follow TensorFlow's
// record_reader.cc: nothing at a record start is the end of the file, anything short of a whole record
// is "truncated record", a CRC mismatch is "corrupted record", each at the record's start offset.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "data/compressed_stream.h"
#include "data/tfrecord.h"
#include "data/tfrecord_framing.h"

namespace ff::data {

namespace {
std::string hex32(uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof text, "0x%08x", value);
  return text;
}
}  // namespace

struct TFRecordReader::Impl {
  std::string path;
  TFRecordReaderOptions options;
  std::unique_ptr<InputStream> stream;

  std::unique_ptr<char[]> buffer;
  size_t capacity = 0;
  size_t begin = 0, end = 0;   // the unread bytes are buffer[begin, end)
  uint64_t buffer_offset = 0;  // stream offset of buffer[begin]
  bool stream_ended = false;   // the stream returned 0 bytes
  bool finished = false;       // next() returns false from now on

  uint64_t record_offset = 0, next_offset = 0;
  uint64_t records_read = 0, corrupt_records_skipped = 0;

  // Makes up to `wanted` bytes available at buffer[begin]; returns how many are (fewer only at the end of
  // the stream).
  size_t fill(size_t wanted) {
    if (end - begin >= wanted) return wanted;
    if (begin > 0) {
      std::memmove(buffer.get(), buffer.get() + begin, end - begin);
      end -= begin;
      begin = 0;
    }
    while (end < wanted && !stream_ended) {
      if (end == capacity) grow(std::max(options.chunk_bytes, std::min(wanted, 2 * capacity)));
      size_t got = stream->read(buffer.get() + end, std::min(capacity - end, options.chunk_bytes));
      if (got == 0) stream_ended = true;
      end += got;
    }
    return std::min(end - begin, wanted);
  }

  void grow(size_t new_capacity) {
    std::unique_ptr<char[]> larger(new char[new_capacity]);
    if (end > 0) std::memcpy(larger.get(), buffer.get(), end);
    buffer = std::move(larger);
    capacity = new_capacity;
  }

  void consume(size_t bytes) {
    begin += bytes;
    buffer_offset += bytes;
  }

  // A header that cannot be trusted, or a cut-off tail: nothing after it can be framed.
  void unframeable(uint64_t offset, const std::string& reason) {
    if (!options.skip_corrupt) throw DataError(path, offset, "", reason);
    ++corrupt_records_skipped;
    finished = true;
  }

  std::string data_ends_after(size_t available) const {
    return std::string(options.compression == Compression::None ? "the file" : "the uncompressed stream") +
           " ends after " + std::to_string(available);
  }

  bool next(std::string_view& payload) {
    while (!finished) {
      try {
        if (read_one(payload)) return true;
      } catch (const CorruptStreamError&) {
        if (!options.skip_corrupt) throw;
        ++corrupt_records_skipped;
        finished = true;
      }
    }
    return false;
  }

  // One record into `payload`: true when read; false when the file ended or a corrupt record was skipped
  // (finished tells the two apart).
  bool read_one(std::string_view& payload) {
    const uint64_t start = buffer_offset;
    size_t available = fill(kTFRecordHeaderBytes);
    if (available == 0) {
      finished = true;
      return false;
    }
    if (available < kTFRecordHeaderBytes) {
      unframeable(start, "truncated record: the header needs 12 bytes, " + data_ends_after(available));
      return false;
    }
    const char* header = buffer.get() + begin;
    const uint64_t length = decode_fixed64(header);
    if (options.verify_checksums) {
      uint32_t stored = unmask_crc(decode_fixed32(header + 8));
      uint32_t computed = crc32c(header, 8);
      if (stored != computed) {
        unframeable(start, "corrupted record: length CRC mismatch (stored " + hex32(stored) + ", computed " +
                               hex32(computed) + ")");
        return false;
      }
    }
    if (length > options.max_record_bytes || length > SIZE_MAX - kTFRecordHeaderBytes - kTFRecordFooterBytes) {
      unframeable(start, "corrupted record: length " + std::to_string(length) + " exceeds max_record_bytes " +
                             std::to_string(options.max_record_bytes));
      return false;
    }
    const size_t total = kTFRecordHeaderBytes + size_t(length) + kTFRecordFooterBytes;
    available = fill(total);
    if (available < total) {
      unframeable(start, "truncated record: length " + std::to_string(length) + " needs " + std::to_string(total) +
                             " bytes, " + data_ends_after(available));
      return false;
    }
    const char* data = buffer.get() + begin + kTFRecordHeaderBytes;
    if (options.verify_checksums) {
      // The framing around a bad payload is intact, so the record is passed over either way: after the
      // error a caller may go on with the next record, as skip_corrupt does.
      uint32_t stored = unmask_crc(decode_fixed32(data + length));
      uint32_t computed = crc32c(data, size_t(length));
      if (stored != computed) {
        consume(total);
        if (!options.skip_corrupt) {
          throw DataError(path, start, "", "corrupted record: payload CRC mismatch (stored " + hex32(stored) +
                                               ", computed " + hex32(computed) + ")");
        }
        ++corrupt_records_skipped;
        next_offset = buffer_offset;
        return false;
      }
    }
    payload = std::string_view(data, size_t(length));
    consume(total);
    record_offset = start;
    next_offset = buffer_offset;
    ++records_read;
    return true;
  }
};

TFRecordReader::TFRecordReader(const std::string& path, TFRecordReaderOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->options = options;
  impl_->stream = open_input_stream(path, options.compression, options.chunk_bytes);
}

TFRecordReader::~TFRecordReader() = default;

bool TFRecordReader::next(std::string_view& payload) { return impl_->next(payload); }

uint64_t TFRecordReader::record_offset() const { return impl_->record_offset; }
uint64_t TFRecordReader::next_offset() const { return impl_->next_offset; }

void TFRecordReader::seek(uint64_t offset) {
  Impl& impl = *impl_;
  impl.stream->seek(offset);
  impl.begin = impl.end = 0;
  impl.buffer_offset = offset;
  impl.next_offset = offset;
  impl.stream_ended = impl.finished = false;
}

uint64_t TFRecordReader::records_read() const { return impl_->records_read; }
uint64_t TFRecordReader::corrupt_records_skipped() const { return impl_->corrupt_records_skipped; }
const std::string& TFRecordReader::path() const { return impl_->path; }

}  // namespace ff::data
