// The error every data-path failure throws: what went wrong, in which file, at which byte offset of the
// record (the offset in the uncompressed stream for GZIP/ZLIB files), and the record's id when known.
// what() reads like "data/train0000.tfrecord: offset 1234 (id 'Xy9a'): corrupted record: payload CRC
// mismatch".
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>

namespace ff::data {

class DataError : public std::runtime_error {
 public:
  static constexpr uint64_t kNoOffset = ~uint64_t(0);
  DataError(std::string file, uint64_t offset, std::string id, const std::string& reason);
  const std::string& file() const { return file_; }
  uint64_t offset() const { return offset_; }  // kNoOffset when the error is not tied to a record
  const std::string& id() const { return id_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string file_, id_, reason_;
  uint64_t offset_;
};

}  // namespace ff::data
