#include "engine/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace ff {

namespace {

// The pid keeps concurrent processes apart, the counter concurrent writers of one process.
std::string temporary_name_for(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
}

std::string directory_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)) {
  if (path_.empty()) throw std::invalid_argument("atomic file write: empty path");
  temporary_path_ = temporary_name_for(path_);
  fd_ = ::open(temporary_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    int error_number = errno;
    throw std::runtime_error("cannot write " + path_ + ": creating the temporary file " + temporary_path_ +
                             " failed: " + std::strerror(error_number));
  }
}

AtomicFileWriter::~AtomicFileWriter() {
  if (!committed_) discard();
}

void AtomicFileWriter::discard() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(temporary_path_.c_str());
}

void AtomicFileWriter::fail(const std::string& what, int error_number) {
  discard();
  committed_ = true;  // nothing left to clean up
  throw std::runtime_error("cannot write " + path_ + ": " + what + " failed: " + std::strerror(error_number));
}

void AtomicFileWriter::write(const void* data, size_t bytes) {
  if (fd_ < 0) throw std::logic_error("write to " + path_ + " after the atomic write finished");
  const char* cursor = static_cast<const char*>(data);
  while (bytes > 0) {
    ssize_t written = ::write(fd_, cursor, bytes);
    if (written < 0) {
      int error_number = errno;
      if (error_number == EINTR) continue;
      fail("writing the temporary file " + temporary_path_, error_number);
    }
    cursor += written;
    bytes -= size_t(written);
  }
}

void AtomicFileWriter::commit() {
  if (fd_ < 0) throw std::logic_error("commit of " + path_ + " after the atomic write finished");
  // The data must be on disk before the rename makes it visible, or a crash could leave an empty file
  // under the final name.
  if (::fsync(fd_) != 0) {
    int error_number = errno;
    fail("fsync of " + temporary_path_, error_number);
  }
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    int error_number = errno;
    fail("closing " + temporary_path_, error_number);
  }
  if (::rename(temporary_path_.c_str(), path_.c_str()) != 0) {
    int error_number = errno;
    fail("renaming " + temporary_path_ + " over it", error_number);
  }
  committed_ = true;
  // Persist the directory entry too. Some filesystems refuse fsync on a directory; the file itself is
  // complete by now, so that is not worth failing the write for.
  int directory = ::open(directory_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (directory >= 0) {
    ::fsync(directory);
    ::close(directory);
  }
}

void write_file_atomically(const std::string& path, const std::function<void(AtomicFileWriter&)>& fill) {
  AtomicFileWriter writer(path);
  fill(writer);
  writer.commit();
}

}  // namespace ff
