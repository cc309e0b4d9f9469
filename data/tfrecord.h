// TFRecord files: a concatenation of records, each
//   u64 length (LE) | u32 masked CRC32C of those 8 bytes | payload | u32 masked CRC32C of the payload
// optionally wrapped whole in a GZIP or ZLIB stream. Reading is streaming: the file is read in chunks
// of a fixed size, so memory stays bounded whatever the file size (one record must fit in memory).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "data/data_error.h"

namespace ff::data {

enum class Compression { None, Gzip, Zlib };
// "none" / "" , "gzip", "zlib" (case-insensitive); throws std::invalid_argument otherwise.
Compression parse_compression(const std::string& name);
const char* compression_name(Compression compression);

// CRC-32C (Castagnoli, RFC 3720), and TFRecord's mask: rotate right by 15, add 0xa282ead8.
uint32_t crc32c(const void* data, size_t size);
uint32_t mask_crc(uint32_t crc);
uint32_t unmask_crc(uint32_t masked);

// One framed record (header, payload, footer), for writers that must append to a file in place rather
// than through TFRecordWriter's write-then-rename (an event file that TensorBoard reads while it grows).
std::string encode_tfrecord(std::string_view payload);

struct TFRecordReaderOptions {
  Compression compression = Compression::None;
  bool verify_checksums = true;
  // false: a corrupt or truncated record throws DataError (file, offset). true: a record whose
  // payload CRC fails is skipped and counted; a corrupt header or a truncated tail ends the file
  // (its rest cannot be framed) and is counted as one skip.
  bool skip_corrupt = false;
  size_t chunk_bytes = size_t(4) << 20;  // read granularity
  uint64_t max_record_bytes = uint64_t(1) << 30;  // a larger length field is treated as corruption
};

class TFRecordReader {
 public:
  TFRecordReader(const std::string& path, TFRecordReaderOptions options = {});
  ~TFRecordReader();
  TFRecordReader(const TFRecordReader&) = delete;
  TFRecordReader& operator=(const TFRecordReader&) = delete;

  // The next record's payload; false at a clean end of file. The view stays valid until the next call.
  bool next(std::string_view& payload);
  // Offset of the record next() returned last (its header's first byte, uncompressed stream).
  uint64_t record_offset() const;
  // Offset where the next record starts: pass it to seek() to resume after the last record read.
  uint64_t next_offset() const;
  // Positions the reader at a record boundary previously returned by next_offset(). For compressed files
  // the stream is decompressed from the start up to the offset.
  void seek(uint64_t offset);

  uint64_t records_read() const;
  uint64_t corrupt_records_skipped() const;
  const std::string& path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Writes records to `path` through a temporary file renamed over it by close(); a writer destroyed
// without close() (an exception on the way) removes the temporary and leaves no file behind.
class TFRecordWriter {
 public:
  TFRecordWriter(const std::string& path, Compression compression = Compression::None);
  ~TFRecordWriter();
  TFRecordWriter(const TFRecordWriter&) = delete;
  TFRecordWriter& operator=(const TFRecordWriter&) = delete;

  void write(std::string_view payload);
  void close();
  uint64_t records_written() const;
  uint64_t bytes_written() const;  // uncompressed stream bytes

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ff::data
