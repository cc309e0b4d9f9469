#include "data/compressed_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace ff::data {

namespace {

// zlib's window: 15 bits is MAX_WBITS, the default TensorFlow uses; +16 selects the gzip container.
int window_bits_for(Compression compression) { return compression == Compression::Gzip ? 16 + MAX_WBITS : MAX_WBITS; }

// An open file descriptor, closed on destruction; every failure is a DataError naming the file.
class InputFile {
 public:
  explicit InputFile(const std::string& path) : path_(path) {
    do {
      fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    } while (fd_ < 0 && errno == EINTR);
    if (fd_ < 0) fail("cannot open for reading");
  }
  ~InputFile() { ::close(fd_); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  const std::string& path() const { return path_; }

  // Up to `size` bytes; 0 at the end of the file.
  size_t read(char* destination, size_t size) {
    while (true) {
      ssize_t got = ::read(fd_, destination, size);
      if (got >= 0) return size_t(got);
      if (errno != EINTR) fail("read failed");
    }
  }

  void seek(uint64_t offset) {
    if (::lseek(fd_, off_t(offset), SEEK_SET) < 0) fail("seek to " + std::to_string(offset) + " failed");
  }

  uint64_t size() {
    struct stat status {};
    if (::fstat(fd_, &status) != 0) fail("stat failed");
    return uint64_t(status.st_size);
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    int error_number = errno;
    throw DataError(path_, DataError::kNoOffset, "", what + ": " + std::strerror(error_number));
  }

  std::string path_;
  int fd_ = -1;
};

class PlainInputStream final : public InputStream {
 public:
  explicit PlainInputStream(const std::string& path) : file_(path) {}

  size_t read(char* destination, size_t size) override { return file_.read(destination, size); }

  void seek(uint64_t offset) override {
    uint64_t size = file_.size();
    if (offset > size) {
      throw DataError(file_.path(), offset, "",
                      "cannot seek beyond the end of the file (" + std::to_string(size) + " bytes)");
    }
    file_.seek(offset);
  }

 private:
  InputFile file_;
};

// Inflates the file chunk by chunk. GZIP files may hold several members one after the other (as
// `cat a.gz b.gz` makes, and gzip -d accepts); a ZLIB file holds exactly one stream.
class InflatingInputStream final : public InputStream {
 public:
  InflatingInputStream(const std::string& path, Compression compression, size_t chunk_bytes)
      : file_(path), compression_(compression), input_(chunk_bytes) {
    if (inflateInit2(&stream_, window_bits_for(compression_)) != Z_OK) {
      throw DataError(path, DataError::kNoOffset, "", "zlib inflateInit2 failed (out of memory?)");
    }
  }
  ~InflatingInputStream() override { inflateEnd(&stream_); }

  // Bytes inflated before damage in the same call are handed out first and the error is raised by the
  // next call, so every record before the damage is delivered and the error's offset is exact.
  size_t read(char* destination, size_t size) override {
    if (pending_error_) throw *pending_error_;
    if (finished_ || size == 0) return 0;
    size = std::min<size_t>(size, UINT_MAX);
    stream_.next_out = reinterpret_cast<Bytef*>(destination);
    stream_.avail_out = uInt(size);
    std::string problem;
    while (stream_.avail_out == size && problem.empty()) {
      if (stream_.avail_in == 0 && !input_ended_) refill();
      if (member_ended_) {
        if (stream_.avail_in == 0) {
          if (input_ended_) {
            finished_ = true;
            break;
          }
          continue;
        }
        if (compression_ == Compression::Zlib) {
          problem = "bytes follow the end of the zlib stream";
          break;
        }
        inflateReset(&stream_);  // the next gzip member
        member_ended_ = false;
      }
      if (stream_.avail_in == 0 && input_ended_ && compressed_bytes_ == 0) {
        // A file of zero bytes holds zero records, as an empty plain file does.
        finished_ = true;
        break;
      }
      int status = inflate(&stream_, Z_NO_FLUSH);
      if (status == Z_STREAM_END) {
        member_ended_ = true;
      } else if (status == Z_BUF_ERROR) {
        // No progress: only possible when the input is used up, i.e. the stream was cut short.
        if (stream_.avail_in == 0 && input_ended_) problem = "the compressed stream is truncated";
      } else if (status != Z_OK) {
        problem = stream_.msg != nullptr ? stream_.msg : "zlib error " + std::to_string(status);
      }
    }
    const size_t produced = size - stream_.avail_out;
    uncompressed_bytes_ += produced;
    if (!problem.empty()) {
      pending_error_ = std::make_unique<CorruptStreamError>(corrupt(problem));
      if (produced == 0) throw *pending_error_;
    }
    return produced;
  }

  void seek(uint64_t offset) override {
    file_.seek(0);
    inflateReset(&stream_);
    stream_.avail_in = 0;
    compressed_bytes_ = 0;
    uncompressed_bytes_ = 0;
    input_ended_ = member_ended_ = finished_ = false;
    pending_error_.reset();
    std::vector<char> discard(std::min<size_t>(input_.size(), size_t(1) << 20));
    while (uncompressed_bytes_ < offset) {
      size_t wanted = size_t(std::min<uint64_t>(discard.size(), offset - uncompressed_bytes_));
      if (read(discard.data(), wanted) == 0) {
        throw DataError(file_.path(), offset, "",
                        "cannot seek beyond the end of the " + std::string(compression_name(compression_)) +
                            " stream (" + std::to_string(uncompressed_bytes_) + " uncompressed bytes)");
      }
    }
  }

 private:
  void refill() {
    size_t got = file_.read(reinterpret_cast<char*>(input_.data()), input_.size());
    if (got == 0) input_ended_ = true;
    stream_.next_in = input_.data();
    stream_.avail_in = uInt(got);
    compressed_bytes_ += got;
  }

  // The offset is where the uncompressed stream stops making sense; the compressed offset helps find the
  // damage in the file itself.
  CorruptStreamError corrupt(const std::string& what) const {
    uint64_t compressed_offset = compressed_bytes_ - stream_.avail_in;
    return CorruptStreamError(file_.path(), uncompressed_bytes_, "",
                             "corrupt " + std::string(compression_name(compression_)) + " stream: " + what +
                                 " (compressed byte " + std::to_string(compressed_offset) + ")");
  }

  InputFile file_;
  Compression compression_;
  std::vector<Bytef> input_;
  z_stream stream_{};
  uint64_t compressed_bytes_ = 0;    // read from the file so far
  uint64_t uncompressed_bytes_ = 0;  // handed out by read() so far
  std::unique_ptr<CorruptStreamError> pending_error_;  // raised by every read() once set
  bool input_ended_ = false;         // read(2) returned 0
  bool member_ended_ = false;        // inflate reported Z_STREAM_END and was not reset yet
  bool finished_ = false;
};

constexpr size_t kOutputBufferBytes = size_t(1) << 20;

// Collects small writes (a record is three of them) into one write(2) per megabyte.
class PlainOutputStream final : public OutputStream {
 public:
  explicit PlainOutputStream(AtomicFileWriter& file) : file_(file) { buffer_.reserve(kOutputBufferBytes); }

  void write(const void* data, size_t size) override {
    if (buffer_.size() + size > kOutputBufferBytes) flush();
    if (size >= kOutputBufferBytes) {
      file_.write(data, size);
    } else {
      const char* bytes = static_cast<const char*>(data);
      buffer_.insert(buffer_.end(), bytes, bytes + size);
    }
  }

  void finish() override { flush(); }

 private:
  void flush() {
    if (!buffer_.empty()) file_.write(buffer_.data(), buffer_.size());
    buffer_.clear();
  }

  AtomicFileWriter& file_;
  std::vector<char> buffer_;
};

class DeflatingOutputStream final : public OutputStream {
 public:
  DeflatingOutputStream(AtomicFileWriter& file, Compression compression)
      : file_(file), compression_(compression), output_(kOutputBufferBytes) {
    if (deflateInit2(&stream_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, window_bits_for(compression), 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::runtime_error("cannot write " + file_.path() + ": zlib deflateInit2 failed");
    }
  }
  ~DeflatingOutputStream() override { deflateEnd(&stream_); }

  void write(const void* data, size_t size) override {
    const Bytef* bytes = static_cast<const Bytef*>(data);
    while (size > 0) {
      size_t piece = std::min<size_t>(size, UINT_MAX);
      stream_.next_in = const_cast<Bytef*>(bytes);
      stream_.avail_in = uInt(piece);
      while (stream_.avail_in > 0) deflate_into_output(Z_NO_FLUSH);
      bytes += piece;
      size -= piece;
    }
  }

  void finish() override {
    stream_.avail_in = 0;
    while (deflate_into_output(Z_FINISH) != Z_STREAM_END) {
    }
  }

 private:
  int deflate_into_output(int flush) {
    stream_.next_out = output_.data();
    stream_.avail_out = uInt(output_.size());
    int status = deflate(&stream_, flush);
    if (status == Z_STREAM_ERROR) {
      throw std::runtime_error("cannot write " + file_.path() + ": zlib deflate failed (" +
                               compression_name(compression_) + ")");
    }
    size_t produced = output_.size() - stream_.avail_out;
    if (produced > 0) file_.write(output_.data(), produced);
    return status;
  }

  AtomicFileWriter& file_;
  Compression compression_;
  std::vector<Bytef> output_;
  z_stream stream_{};
};

}  // namespace

std::unique_ptr<InputStream> open_input_stream(const std::string& path, Compression compression,
                                               size_t chunk_bytes) {
  if (chunk_bytes == 0) throw std::invalid_argument("TFRecord reader for " + path + ": chunk_bytes must be > 0");
  if (compression == Compression::None) return std::make_unique<PlainInputStream>(path);
  return std::make_unique<InflatingInputStream>(path, compression, chunk_bytes);
}

std::unique_ptr<OutputStream> make_output_stream(AtomicFileWriter& file, Compression compression) {
  if (compression == Compression::None) return std::make_unique<PlainOutputStream>(file);
  return std::make_unique<DeflatingOutputStream>(file, compression);
}

}  // namespace ff::data
