// Fuzz target for the TFRecord reader: the input is a file's bytes, read back with every compression,
// with skip_corrupt and verify_checksums on and off, and small and large chunks. Required: no crash, no
// hang, no sanitizer report, and every failure a DataError; anything else aborts. It also checks the
// reader's own promises: offsets that tile the stream, and seek(next_offset()) replaying the same tail.
//
// Built two ways: with clang's libFuzzer (scripts/fuzz.sh), and with any compiler plus replay_main.cpp,
// which feeds it the seed corpus as the CTest tfrecord_corpus_replay.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "data/tfrecord.h"
#include "data/youtube8m.h"

namespace {

using ff::data::Compression;
using ff::data::DataError;
using ff::data::TFRecordReader;
using ff::data::TFRecordReaderOptions;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "tfrecord_fuzzer: %s\n", what.c_str());
  std::abort();
}

// The second stage: each record's payload through both YouTube-8M decoders (a small layout, so that
// inputs of a few KiB can hold valid records). Each may throw DataError on bad payloads, anything else
// is a bug; and the fast wire walker must agree with libprotobuf: both fail, or both succeed with
// identical videos.
const ff::data::YouTube8MLayout& fuzz_layout() {
  static const ff::data::YouTube8MLayout layout = [] {
    ff::data::YouTube8MLayout l;
    l.frame_features = {{"rgb", 4}, {"audio", 2}};
    l.video_features = {{"mean_rgb", 4}, {"mean_audio", 2}};
    l.num_classes = 10;
    return l;
  }();
  return layout;
}

void inspect_record(std::string_view payload) {
  // Touch every byte so that a view into freed or unread memory shows up under the sanitizers.
  volatile unsigned char sum = 0;
  for (char byte : payload) sum = sum + static_cast<unsigned char>(byte);

  const ff::data::YouTube8MLayout& layout = fuzz_layout();
  ff::data::FrameLevelView view;
  ff::data::DecodedFrameLevel walked, reference;
  bool walk_ok = true, reference_ok = true;
  try {
    ff::data::decode_frame_level(payload, layout, view, {"fuzz", 0});
    walked = ff::data::to_owning(view, layout);
  } catch (const DataError&) {
    walk_ok = false;
  }
  try {
    reference = ff::data::decode_frame_level_protobuf(payload, layout, {"fuzz", 0});
  } catch (const DataError&) {
    reference_ok = false;
  }
  if (walk_ok != reference_ok) fail(walk_ok ? "the wire walker accepts what libprotobuf rejects"
                                            : "the wire walker rejects what libprotobuf accepts");
  if (walk_ok && !(walked == reference)) fail("the wire walker and libprotobuf decode different videos");
  try {
    ff::data::decode_video_level(payload, layout, {"fuzz", 0});
  } catch (const DataError&) {
  }
}

struct ReadResult {
  std::vector<std::string> payloads;
  std::vector<uint64_t> offsets;
  bool failed = false;
  uint64_t error_offset = 0;
};

// Reads every record from the current position; a DataError ends the read and is recorded.
void read_rest(TFRecordReader& reader, ReadResult& result) {
  std::string_view payload;
  try {
    while (reader.next(payload)) {
      if (reader.next_offset() != reader.record_offset() + 16 + payload.size()) {
        fail("next_offset() is not record_offset() + 16 + payload size");
      }
      if (!result.offsets.empty() && reader.record_offset() < result.offsets.back()) {
        fail("record offsets go backwards");
      }
      inspect_record(payload);
      result.payloads.emplace_back(payload);
      result.offsets.push_back(reader.record_offset());
    }
  } catch (const DataError& error) {
    if (error.file() != reader.path()) fail(std::string("DataError names another file: ") + error.what());
    result.failed = true;
    result.error_offset = error.offset();
  }
}

void read_file(const std::string& path, const TFRecordReaderOptions& options) {
  ReadResult first;
  {
    TFRecordReader reader(path, options);
    read_rest(reader, first);
    if (options.skip_corrupt && first.failed) fail("skip_corrupt let an error through");
  }
  if (first.payloads.empty()) return;
  // Resuming at a record boundary must give the same records, and the same error if there was one.
  size_t middle = first.payloads.size() / 2;
  TFRecordReader resumed(path, options);
  ReadResult rest;
  try {
    resumed.seek(first.offsets[middle]);
  } catch (const DataError& error) {
    fail(std::string("seek to a record boundary failed: ") + error.what());
  }
  read_rest(resumed, rest);
  if (rest.payloads != std::vector<std::string>(first.payloads.begin() + long(middle), first.payloads.end()) ||
      rest.failed != first.failed || rest.error_offset != first.error_offset) {
    fail("seek(record offset) did not replay the same records");
  }
}

// One file per process, in memory where /dev/shm exists.
const std::string& input_path() {
  static const std::string path = [] {
    std::filesystem::path directory = std::filesystem::exists("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                                          : std::filesystem::temp_directory_path();
    std::string name = (directory / ("tfrecord_fuzzer_" + std::to_string(::getpid()))).string();
    std::atexit([] { std::remove(input_path().c_str()); });
    return name;
  }();
  return path;
}

void write_input(const uint8_t* data, size_t size) {
  std::FILE* file = std::fopen(input_path().c_str(), "wb");
  if (file == nullptr) fail("cannot create " + input_path());
  if (size > 0 && std::fwrite(data, 1, size, file) != size) fail("cannot write " + input_path());
  if (std::fclose(file) != 0) fail("cannot close " + input_path());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  write_input(data, size);
  // A small chunk that depends on the input makes records straddle chunk boundaries in varied ways.
  const size_t small_chunk = 1 + (size > 0 ? data[size - 1] % 32 : 0);
  try {
    for (Compression compression : {Compression::None, Compression::Gzip, Compression::Zlib}) {
      for (bool skip_corrupt : {false, true}) {
        for (bool verify_checksums : {true, false}) {
          TFRecordReaderOptions options;
          options.compression = compression;
          options.skip_corrupt = skip_corrupt;
          options.verify_checksums = verify_checksums;
          options.chunk_bytes = verify_checksums ? small_chunk : 4096;
          // A bound well above any input the fuzzer makes, low enough that a wild length is cheap.
          options.max_record_bytes = uint64_t(1) << 24;
          read_file(input_path(), options);
        }
      }
    }
  } catch (const std::exception& error) {
    fail(std::string("not a DataError: ") + error.what());
  }
  return 0;
}
