// TFRecord writer: frames each payload, optionally deflates the whole stream, and writes through an
// AtomicFileWriter, so the file appears under its name only when close() succeeded.
#include <stdexcept>

#include "data/compressed_stream.h"
#include "data/tfrecord.h"
#include "data/tfrecord_framing.h"
#include "engine/atomic_file.h"

namespace ff::data {

struct TFRecordWriter::Impl {
  // Declared before `stream`, which writes into it, so it is destroyed after it.
  AtomicFileWriter file;
  std::unique_ptr<OutputStream> stream;
  bool closed = false;
  uint64_t records_written = 0;
  uint64_t bytes_written = 0;

  Impl(const std::string& path, Compression compression)
      : file(path), stream(make_output_stream(file, compression)) {}
};

TFRecordWriter::TFRecordWriter(const std::string& path, Compression compression)
    : impl_(std::make_unique<Impl>(path, compression)) {}

// Without close() the AtomicFileWriter removes the temporary file: nothing appears under the final name.
TFRecordWriter::~TFRecordWriter() = default;

namespace {
void encode_header(char* header, std::string_view payload) {
  encode_fixed64(header, payload.size());
  encode_fixed32(header + 8, mask_crc(crc32c(header, 8)));
}
void encode_footer(char* footer, std::string_view payload) {
  encode_fixed32(footer, mask_crc(crc32c(payload.data(), payload.size())));
}
}  // namespace

std::string encode_tfrecord(std::string_view payload) {
  std::string out(kTFRecordHeaderBytes + payload.size() + kTFRecordFooterBytes, '\0');
  encode_header(out.data(), payload);
  payload.copy(out.data() + kTFRecordHeaderBytes, payload.size());
  encode_footer(out.data() + kTFRecordHeaderBytes + payload.size(), payload);
  return out;
}

void TFRecordWriter::write(std::string_view payload) {
  Impl& impl = *impl_;
  if (impl.closed) throw std::logic_error("TFRecord write to " + impl.file.path() + " after close()");
  char header[kTFRecordHeaderBytes];
  encode_header(header, payload);
  char footer[kTFRecordFooterBytes];
  encode_footer(footer, payload);
  impl.stream->write(header, sizeof header);
  impl.stream->write(payload.data(), payload.size());
  impl.stream->write(footer, sizeof footer);
  ++impl.records_written;
  impl.bytes_written += sizeof header + payload.size() + sizeof footer;
}

void TFRecordWriter::close() {
  Impl& impl = *impl_;
  if (impl.closed) return;
  impl.closed = true;  // a failure below has already discarded the temporary: nothing to retry
  impl.stream->finish();
  impl.file.commit();
}

uint64_t TFRecordWriter::records_written() const { return impl_->records_written; }
uint64_t TFRecordWriter::bytes_written() const { return impl_->bytes_written; }

}  // namespace ff::data
