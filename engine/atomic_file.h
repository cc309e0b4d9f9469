// Writing a file so that readers only ever see the old contents or the complete new ones: the bytes go to
// a temporary file in the same directory (same filesystem, so the rename is atomic), are flushed to disk
// with fsync, and only then renamed over the target. A failure at any step removes the temporary and
// leaves whatever was under the final name untouched.
#pragma once
#include <cstddef>
#include <functional>
#include <string>

namespace ff {

// One atomic write in progress. Destroying it without commit() (an exception on the way) discards the
// temporary file.
class AtomicFileWriter {
 public:
  // Creates "<path>.tmp.<pid>.<n>" next to `path`; throws std::runtime_error naming it and the errno text.
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t bytes);
  // fsync, close, rename over the target. After it, the writer is finished and write() throws.
  void commit();

  const std::string& path() const { return path_; }
  const std::string& temporary_path() const { return temporary_path_; }

 private:
  [[noreturn]] void fail(const std::string& what, int error_number);
  void discard() noexcept;

  std::string path_;
  std::string temporary_path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Runs `fill` on a fresh AtomicFileWriter for `path` and commits it when `fill` returns normally.
void write_file_atomically(const std::string& path, const std::function<void(AtomicFileWriter&)>& fill);

}  // namespace ff
