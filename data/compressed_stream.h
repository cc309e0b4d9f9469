// The byte streams under TFRecord files: a plain file, or a file wrapped whole in a GZIP or ZLIB stream
// (TensorFlow's compression_type). Reading goes through read(2) in chunks and zlib's inflate, so memory
// stays at one chunk of compressed input whatever the file size; writing goes through a buffer and
// zlib's deflate into an AtomicFileWriter. Internal to data/: the public interface is data/tfrecord.h.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "data/data_error.h"
#include "data/tfrecord.h"
#include "engine/atomic_file.h"

namespace ff::data {

// Bytes that are not a valid compressed stream (bad header, bad data, a stream cut short): the rest of
// the file cannot be decoded. Told apart from I/O errors so that skip_corrupt can end the file on it.
class CorruptStreamError : public DataError {
 public:
  using DataError::DataError;
};

class InputStream {
 public:
  virtual ~InputStream() = default;
  // Up to `size` (> 0) bytes of the uncompressed stream into `destination`; 0 only at its end.
  // Throws DataError on an I/O failure, CorruptStreamError on undecodable compressed bytes.
  virtual size_t read(char* destination, size_t size) = 0;
  // Continues reading at `offset` of the uncompressed stream. A compressed stream is decoded again from
  // its start up to there. Throws DataError when the stream is shorter than `offset`.
  virtual void seek(uint64_t offset) = 0;
};

// Opens `path`; throws DataError (file, no offset, the errno text) when it cannot be opened.
// `chunk_bytes` is the size of each read(2) of the file.
std::unique_ptr<InputStream> open_input_stream(const std::string& path, Compression compression,
                                               size_t chunk_bytes);

class OutputStream {
 public:
  virtual ~OutputStream() = default;
  virtual void write(const void* data, size_t size) = 0;
  // Flushes everything (and the compressed stream's trailer) to the file; write() must not follow.
  virtual void finish() = 0;
};

// Writes through `file`, which must outlive the stream. Throws std::runtime_error naming the file.
std::unique_ptr<OutputStream> make_output_stream(AtomicFileWriter& file, Compression compression);

}  // namespace ff::data
