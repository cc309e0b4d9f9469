#include <catch2/catch.hpp>

#include <malloc.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "data/tfrecord.h"
#include "support/temporary_directory.h"
#include "support/test_files.h"

using namespace ff::data;
using Catch::Matchers::Contains;
using ff::test::TemporaryDirectory;

namespace {

const Compression kAllCompressions[] = {Compression::None, Compression::Gzip, Compression::Zlib};

using ff::test::read_bytes;
using ff::test::write_bytes;
using ff::test::CommandResult;

std::string bytes_of(std::initializer_list<int> values) {
  std::string bytes;
  for (int value : values) bytes.push_back(char(value));
  return bytes;
}

void write_records(const std::string& path, const std::vector<std::string>& payloads,
                   Compression compression = Compression::None) {
  TFRecordWriter writer(path, compression);
  for (const std::string& payload : payloads) writer.write(payload);
  writer.close();
}

std::vector<std::string> read_records(const std::string& path, TFRecordReaderOptions options = {}) {
  TFRecordReader reader(path, options);
  std::vector<std::string> payloads;
  std::string_view payload;
  while (reader.next(payload)) payloads.emplace_back(payload);
  return payloads;
}

TFRecordReaderOptions with_compression(Compression compression, size_t chunk_bytes = size_t(4) << 20) {
  TFRecordReaderOptions options;
  options.compression = compression;
  options.chunk_bytes = chunk_bytes;
  return options;
}

// Random bytes of sizes that cover the corner cases: empty records, records shorter than a header, and
// records several times larger than the small chunk sizes the tests read with.
std::vector<std::string> varied_payloads(size_t count, uint32_t seed) {
  const size_t sizes[] = {0, 1, 5, 7, 8, 11, 12, 16, 63, 64, 65, 200, 1000, 4096, 20000, 0, 3};
  std::mt19937 random(seed);
  std::vector<std::string> payloads;
  for (size_t i = 0; i < count; ++i) {
    std::string payload(sizes[i % std::size(sizes)], '\0');
    for (char& byte : payload) byte = char(random() & 0xff);
    payloads.push_back(payload);
  }
  return payloads;
}

// Offset of record `index` in the uncompressed stream: every record costs 16 bytes of framing.
uint64_t offset_of(const std::vector<std::string>& payloads, size_t index) {
  uint64_t offset = 0;
  for (size_t i = 0; i < index; ++i) offset += 16 + payloads[i].size();
  return offset;
}

// Reads the whole file and returns the DataError it must end with.
DataError read_until_error(const std::string& path, TFRecordReaderOptions options = {}) {
  try {
    read_records(path, options);
  } catch (const DataError& error) {
    return error;
  }
  FAIL("reading " << path << " did not throw DataError");
  throw std::logic_error("unreachable");
}

void check_error(const DataError& error, const std::string& path, uint64_t offset, const std::string& reason) {
  INFO("what(): " << error.what());
  CHECK(error.file() == path);
  CHECK(error.offset() == offset);
  CHECK_THAT(error.what(), Contains(path + ": offset " + std::to_string(offset) + ": ") && Contains(reason));
}

ff::test::CommandResult run_python_tfrecord(const std::string& arguments) {
  return ff::test::run_python_script("write_tfrecord.py", arguments);
}

std::string to_hex(const std::string& bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : bytes) {
    hex.push_back(digits[byte >> 4]);
    hex.push_back(digits[byte & 15]);
  }
  return hex;
}

// Bytes the heap currently holds (small blocks plus mmap-ed large ones).
size_t heap_in_use() {
  struct mallinfo2 info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
}

}  // namespace

TEST_CASE("crc32c reproduces the RFC 3720 check values", "[tfrecord]") {
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(char(i));
    descending.push_back(char(31 - i));
  }
  CHECK(crc32c("123456789", 9) == 0xE3069283u);
  CHECK(crc32c(std::string(32, '\0').data(), 32) == 0x8A9136AAu);
  CHECK(crc32c(std::string(32, '\xff').data(), 32) == 0x62A8AB43u);
  CHECK(crc32c(ascending.data(), 32) == 0x46DD794Eu);
  CHECK(crc32c(descending.data(), 32) == 0x113FDB5Cu);
  CHECK(crc32c(nullptr, 0) == 0u);
}

TEST_CASE("the TFRecord CRC mask and its inverse", "[tfrecord]") {
  const std::pair<uint32_t, uint32_t> table[] = {
      {0x00000000u, 0xA282EAD8u}, {0x8A9136AAu, 0x0FD7FFFAu}, {0x62A8AB43u, 0xF909B029u},
      {0x46DD794Eu, 0x951F7892u}, {0x113FDB5Cu, 0x593B0D57u}, {0xA45AD63Eu, 0x4F00338Du},
  };
  for (auto [crc, masked] : table) {
    INFO("crc " << crc);
    CHECK(mask_crc(crc) == masked);
    CHECK(unmask_crc(masked) == crc);
  }
  // The first header of a real YouTube-8M shard: length 4695 and its masked CRC.
  std::string header = bytes_of({0x57, 0x12, 0, 0, 0, 0, 0, 0});
  CHECK(crc32c(header.data(), 8) == 0xA45AD63Eu);
  CHECK(mask_crc(crc32c(header.data(), 8)) == 0x4F00338Du);
}

TEST_CASE("compression names", "[tfrecord]") {
  CHECK(parse_compression("") == Compression::None);
  CHECK(parse_compression("none") == Compression::None);
  CHECK(parse_compression("GZIP") == Compression::Gzip);
  CHECK(parse_compression("Zlib") == Compression::Zlib);
  CHECK_THROWS_AS(parse_compression("snappy"), std::invalid_argument);
  for (Compression compression : kAllCompressions) CHECK(parse_compression(compression_name(compression)) == compression);
}

TEST_CASE("one written record has TFRecord's byte layout", "[tfrecord]") {
  TemporaryDirectory directory;
  std::string path = directory.file("one.tfrecord");
  TFRecordWriter writer(path);
  writer.write("abc");
  writer.close();
  CHECK(writer.records_written() == 1);
  CHECK(writer.bytes_written() == 19);
  // length 3 (LE u64) | masked crc32c of those 8 bytes (crc 0x576c35e3) | "abc" | masked crc32c("abc")
  // (crc 0x364b3fb7), the CRC values from python3-crc32c.
  std::string expected = bytes_of({0x03, 0, 0, 0, 0, 0, 0, 0, 0xb0, 0x99, 0x49, 0x0e}) + "abc" +
                         bytes_of({0x6e, 0x57, 0xf1, 0x21});
  CHECK(to_hex(read_bytes(path)) == to_hex(expected));
}

TEST_CASE("TFRecord files round-trip with every compression and chunk size", "[tfrecord]") {
  TemporaryDirectory directory;
  std::vector<std::string> payloads = varied_payloads(120, 7);
  for (Compression compression : kAllCompressions) {
    std::string path = directory.file(std::string("records.") + compression_name(compression));
    TFRecordWriter writer(path, compression);
    for (const std::string& payload : payloads) writer.write(payload);
    writer.close();
    CHECK(writer.records_written() == payloads.size());
    CHECK(writer.bytes_written() == offset_of(payloads, payloads.size()));
    if (compression != Compression::None) CHECK(read_bytes(path).size() < writer.bytes_written());

    for (size_t chunk_bytes : {size_t(1), size_t(7), size_t(64), size_t(4) << 20}) {
      INFO(compression_name(compression) << " chunk " << chunk_bytes);
      TFRecordReader reader(path, with_compression(compression, chunk_bytes));
      std::string_view payload;
      size_t index = 0;
      for (; reader.next(payload); ++index) {
        REQUIRE(index < payloads.size());
        CHECK(payload == payloads[index]);
        CHECK(reader.record_offset() == offset_of(payloads, index));
        CHECK(reader.next_offset() == offset_of(payloads, index + 1));
      }
      CHECK(index == payloads.size());
      CHECK(reader.records_read() == payloads.size());
      CHECK(reader.corrupt_records_skipped() == 0);
      CHECK_FALSE(reader.next(payload));  // the end stays the end
    }
  }
}

TEST_CASE("an empty file holds zero records; a zero-length record is valid", "[tfrecord]") {
  TemporaryDirectory directory;
  std::string empty = directory.file("empty.tfrecord");
  write_bytes(empty, "");
  for (Compression compression : kAllCompressions) {
    CHECK(read_records(empty, with_compression(compression)).empty());
    std::string no_records = directory.file(std::string("no_records.") + compression_name(compression));
    write_records(no_records, {}, compression);
    CHECK(read_records(no_records, with_compression(compression)).empty());
  }
  std::string zero_length = directory.file("zero_length.tfrecord");
  write_records(zero_length, {""});
  CHECK(read_bytes(zero_length).size() == 16);
  CHECK(read_records(zero_length) == std::vector<std::string>{""});
}

TEST_CASE("damaged TFRecord files fail like TensorFlow's reader, with file and offset", "[tfrecord]") {
  TemporaryDirectory directory;
  std::vector<std::string> payloads = {"first record", "second record", "third"};
  std::string good = directory.file("good.tfrecord");
  write_records(good, payloads);
  const std::string bytes = read_bytes(good);
  const uint64_t second = offset_of(payloads, 1);
  REQUIRE(second == 28);
  std::string path = directory.file("damaged.tfrecord");

  SECTION("a flipped byte in the second header") {
    std::string damaged = bytes;
    damaged[second + 2] ^= 0x01;
    write_bytes(path, damaged);
    check_error(read_until_error(path), path, second, "corrupted record: length CRC mismatch");
    // The length field's CRC is what protects the framing; the first record was still delivered.
    TFRecordReader reader(path);
    std::string_view payload;
    REQUIRE(reader.next(payload));
    CHECK(payload == payloads[0]);
  }
  SECTION("a flipped byte in the second payload") {
    std::string damaged = bytes;
    damaged[second + 12 + 4] ^= 0x40;
    write_bytes(path, damaged);
    check_error(read_until_error(path), path, second, "corrupted record: payload CRC mismatch");
    for (size_t chunk_bytes : {size_t(3), size_t(64)}) {
      check_error(read_until_error(path, with_compression(Compression::None, chunk_bytes)), path, second,
                  "payload CRC mismatch");
    }
  }
  SECTION("a flipped byte in the second payload's stored CRC") {
    std::string damaged = bytes;
    damaged[second + 12 + payloads[1].size()] ^= 0x01;
    write_bytes(path, damaged);
    check_error(read_until_error(path), path, second, "corrupted record: payload CRC mismatch");
  }
  SECTION("a file cut inside the second header") {
    write_bytes(path, bytes.substr(0, second + 5));
    check_error(read_until_error(path), path, second, "truncated record");
    check_error(read_until_error(path, with_compression(Compression::None, 2)), path, second,
                "truncated record: the header needs 12 bytes, the file ends after 5");
  }
  SECTION("a file cut inside the second payload or its CRC") {
    for (size_t cut : {size_t(12), size_t(15), size_t(12 + 13), size_t(12 + 13 + 3)}) {
      INFO("cut after " << cut << " bytes of the record");
      write_bytes(path, bytes.substr(0, second + cut));
      check_error(read_until_error(path), path, second, "truncated record: length 13 needs 29 bytes");
    }
  }
  SECTION("a file cut at a record boundary is simply shorter") {
    write_bytes(path, bytes.substr(0, second));
    CHECK(read_records(path) == std::vector<std::string>{payloads[0]});
  }
  SECTION("a length field above max_record_bytes") {
    TFRecordReaderOptions options;
    options.max_record_bytes = 12;
    check_error(read_until_error(good, options), good, second, "corrupted record: length 13 exceeds max_record_bytes 12");
  }
  SECTION("a file that does not exist") {
    std::string missing = directory.file("missing.tfrecord");
    try {
      TFRecordReader reader(missing);
      FAIL("opening a missing file did not throw");
    } catch (const DataError& error) {
      CHECK(error.file() == missing);
      CHECK(error.offset() == DataError::kNoOffset);
      CHECK_THAT(error.what(), Contains(missing) && Contains("No such file or directory"));
    }
  }
  SECTION("errors inside a ZLIB stream carry the uncompressed offset") {
    std::string damaged = bytes;
    damaged[second + 12 + 4] ^= 0x40;
    // Compress the damaged stream: the ZLIB container is intact, the record inside is not.
    uLongf compressed_size = compressBound(uLong(damaged.size()));
    std::string compressed(compressed_size, '\0');
    REQUIRE(compress(reinterpret_cast<Bytef*>(compressed.data()), &compressed_size,
                     reinterpret_cast<const Bytef*>(damaged.data()), uLong(damaged.size())) == Z_OK);
    compressed.resize(compressed_size);
    write_bytes(path, compressed);
    check_error(read_until_error(path, with_compression(Compression::Zlib, 4)), path, second,
                "corrupted record: payload CRC mismatch");
  }
}

TEST_CASE("reading with the wrong compression fails at the first record", "[tfrecord]") {
  TemporaryDirectory directory;
  std::vector<std::string> payloads = varied_payloads(10, 3);
  std::string gzip_path = directory.file("records.gz");
  std::string zlib_path = directory.file("records.zlib");
  std::string plain_path = directory.file("records.tfrecord");
  write_records(gzip_path, payloads, Compression::Gzip);
  write_records(zlib_path, payloads, Compression::Zlib);
  write_records(plain_path, payloads, Compression::None);

  // TensorFlow's classic symptom: a compressed file read as plain is "corrupted record at 0".
  check_error(read_until_error(gzip_path), gzip_path, 0, "corrupted record: length CRC mismatch");
  check_error(read_until_error(zlib_path), zlib_path, 0, "corrupted record: length CRC mismatch");
  // A plain file read as compressed fails in zlib, before any record.
  check_error(read_until_error(plain_path, with_compression(Compression::Gzip)), plain_path, 0,
              "corrupt gzip stream: incorrect header check");
  check_error(read_until_error(plain_path, with_compression(Compression::Zlib)), plain_path, 0,
              "corrupt zlib stream");
  check_error(read_until_error(gzip_path, with_compression(Compression::Zlib)), gzip_path, 0,
              "corrupt zlib stream");
}

TEST_CASE("damaged compressed streams are DataErrors at the uncompressed offset", "[tfrecord]") {
  TemporaryDirectory directory;
  std::vector<std::string> payloads(50, std::string(1000, 'x'));
  for (Compression compression : {Compression::Gzip, Compression::Zlib}) {
    INFO(compression_name(compression));
    std::string path = directory.file(std::string("records.") + compression_name(compression));
    write_records(path, payloads, compression);
    std::string bytes = read_bytes(path);

    std::string truncated = directory.file("truncated");
    write_bytes(truncated, bytes.substr(0, bytes.size() - 3));
    DataError error = read_until_error(truncated, with_compression(compression, 16));
    CHECK(error.file() == truncated);
    CHECK_THAT(error.what(), Contains(std::string("corrupt ") + compression_name(compression) + " stream"));
    // Only (part of) the stream's check-value trailer is missing: every record came out whole first.
    CHECK(error.offset() == offset_of(payloads, payloads.size()));

    std::string trailing = directory.file("trailing");
    write_bytes(trailing, bytes + "garbage");
    error = read_until_error(trailing, with_compression(compression));
    CHECK(error.offset() == offset_of(payloads, payloads.size()));
    // GZIP reads on as if a second member followed; ZLIB holds exactly one stream.
    CHECK_THAT(error.what(), Contains(compression == Compression::Gzip ? "incorrect header check"
                                                                      : "bytes follow the end of the zlib stream"));

    // A damaged check value (gzip: CRC-32 then size; zlib: Adler-32, at the end) is found after all
    // the data was inflated, within a single read of the default chunk: the records still come out,
    // then the error names the end of the uncompressed stream.
    std::string bad_check = directory.file("bad_check");
    std::string damaged = bytes;
    damaged[damaged.size() - (compression == Compression::Gzip ? 8 : 4)] ^= 0x01;
    write_bytes(bad_check, damaged);
    TFRecordReader reader(bad_check, with_compression(compression));
    std::string_view payload;
    size_t delivered = 0;
    try {
      while (reader.next(payload)) ++delivered;
      FAIL("a damaged check value went unnoticed");
    } catch (const DataError& caught) {
      check_error(caught, bad_check, offset_of(payloads, payloads.size()), "incorrect data check");
    }
    CHECK(delivered == payloads.size());
  }
}

TEST_CASE("a GZIP file of several members reads as one stream", "[tfrecord]") {
  TemporaryDirectory directory;
  std::vector<std::string> first = varied_payloads(5, 1), second = varied_payloads(7, 2);
  std::string a = directory.file("a.gz"), b = directory.file("b.gz"), both = directory.file("both.gz");
  write_records(a, first, Compression::Gzip);
  write_records(b, second, Compression::Gzip);
  write_bytes(both, read_bytes(a) + read_bytes(b));
  std::vector<std::string> expected = first;
  expected.insert(expected.end(), second.begin(), second.end());
  CHECK(read_records(both, with_compression(Compression::Gzip, 10)) == expected);
}

TEST_CASE("verify_checksums=false reads records with bad CRCs but still checks framing", "[tfrecord]") {
  TemporaryDirectory directory;
  std::vector<std::string> payloads = {"alpha", "beta", "gamma"};
  std::string path = directory.file("records.tfrecord");
  write_records(path, payloads);
  std::string bytes = read_bytes(path);
  bytes[offset_of(payloads, 1) + 12] ^= 0x20;  // "beta" -> "Beta"
  bytes[offset_of(payloads, 2) + 9] ^= 0x01;   // the third header's CRC
  write_bytes(path, bytes);
  TFRecordReaderOptions options;
  options.verify_checksums = false;
  CHECK(read_records(path, options) == std::vector<std::string>{"alpha", "Beta", "gamma"});

  write_bytes(path, bytes.substr(0, bytes.size() - 2));
  check_error(read_until_error(path, options), path, offset_of(payloads, 2), "truncated record");
}

TEST_CASE("skip_corrupt passes over bad payloads and ends the file at bad framing", "[tfrecord]") {
  TemporaryDirectory directory;
  std::vector<std::string> payloads = {"r0", "r1", "r2", "r3", "r4", "r5"};
  std::string path = directory.file("records.tfrecord");
  write_records(path, payloads);
  std::string bytes = read_bytes(path);
  TFRecordReaderOptions options;
  options.skip_corrupt = true;
  options.chunk_bytes = 5;

  SECTION("bad payloads are skipped and counted") {
    bytes[offset_of(payloads, 1) + 12] ^= 1;
    bytes[offset_of(payloads, 4) + 13] ^= 1;
    write_bytes(path, bytes);
    TFRecordReader reader(path, options);
    std::vector<std::string> read;
    std::string_view payload;
    while (reader.next(payload)) read.emplace_back(payload);
    CHECK(read == std::vector<std::string>{"r0", "r2", "r3", "r5"});
    CHECK(reader.records_read() == 4);
    CHECK(reader.corrupt_records_skipped() == 2);
  }
  SECTION("a bad header ends the file as one skip") {
    bytes[offset_of(payloads, 3)] ^= 1;
    write_bytes(path, bytes);
    TFRecordReader reader(path, options);
    std::vector<std::string> read;
    std::string_view payload;
    while (reader.next(payload)) read.emplace_back(payload);
    CHECK(read == std::vector<std::string>{"r0", "r1", "r2"});
    CHECK(reader.corrupt_records_skipped() == 1);
  }
  SECTION("a truncated tail ends the file as one skip") {
    write_bytes(path, bytes.substr(0, bytes.size() - 3));
    TFRecordReader reader(path, options);
    std::string_view payload;
    size_t count = 0;
    while (reader.next(payload)) ++count;
    CHECK(count == 5);
    CHECK(reader.corrupt_records_skipped() == 1);
  }
  SECTION("an undecodable compressed stream ends the file as one skip") {
    options.compression = Compression::Gzip;
    TFRecordReader reader(path, options);
    std::string_view payload;
    CHECK_FALSE(reader.next(payload));
    CHECK(reader.corrupt_records_skipped() == 1);
  }
}

TEST_CASE("seek to next_offset() resumes exactly where reading stopped", "[tfrecord]") {
  TemporaryDirectory directory;
  std::vector<std::string> payloads = varied_payloads(60, 11);
  for (Compression compression : kAllCompressions) {
    INFO(compression_name(compression));
    std::string path = directory.file(std::string("records.") + compression_name(compression));
    write_records(path, payloads, compression);
    for (size_t stop : {size_t(0), size_t(1), size_t(17), size_t(59), size_t(60)}) {
      INFO("stop after " << stop << " records");
      uint64_t resume_at = 0;
      {
        TFRecordReader first(path, with_compression(compression, 64));
        std::string_view payload;
        for (size_t i = 0; i < stop; ++i) REQUIRE(first.next(payload));
        resume_at = first.next_offset();
      }
      CHECK(resume_at == offset_of(payloads, stop));
      TFRecordReader resumed(path, with_compression(compression, 64));
      resumed.seek(resume_at);
      std::vector<std::string> rest;
      std::string_view payload;
      while (resumed.next(payload)) rest.emplace_back(payload);
      CHECK(rest == std::vector<std::string>(payloads.begin() + long(stop), payloads.end()));
    }
    // Seeking back after reading everything replays the tail.
    TFRecordReader reader(path, with_compression(compression, 7));
    std::string_view payload;
    while (reader.next(payload)) {
    }
    reader.seek(offset_of(payloads, 58));
    REQUIRE(reader.next(payload));
    CHECK(payload == payloads[58]);
    CHECK(reader.record_offset() == offset_of(payloads, 58));

    uint64_t beyond = offset_of(payloads, payloads.size()) + 1;
    try {
      reader.seek(beyond);
      FAIL("seek beyond the end did not throw");
    } catch (const DataError& error) {
      CHECK(error.offset() == beyond);
      CHECK_THAT(error.what(), Contains("cannot seek beyond the end"));
    }
  }
}

TEST_CASE("reading a large file keeps memory at about one chunk plus one record", "[tfrecord]") {
  TemporaryDirectory directory;
  std::string path = directory.file("large.tfrecord");
  const size_t record_bytes = 300 * 1024, records = 220;  // ~64 MiB
  {
    TFRecordWriter writer(path);
    std::string payload(record_bytes, '\0');
    for (size_t i = 0; i < records; ++i) {
      payload[i % record_bytes] = char(i);
      writer.write(payload);
    }
    writer.close();
  }
  const size_t chunk_bytes = size_t(1) << 20;
  const size_t baseline = heap_in_use();
  size_t peak = 0, count = 0;
  {
    TFRecordReader reader(path, with_compression(Compression::None, chunk_bytes));
    std::string_view payload;
    while (reader.next(payload)) {
      CHECK(payload.size() == record_bytes);
      peak = std::max(peak, heap_in_use());
      ++count;
    }
  }
  CHECK(count == records);
  INFO("heap growth while reading: " << (peak - baseline) << " bytes for a " << records * (record_bytes + 16)
                                     << "-byte file");
  // The buffer never exceeds max(chunk, largest record); the check leaves room for the allocator.
  CHECK(peak - baseline < chunk_bytes + record_bytes + (size_t(1) << 20));
}

TEST_CASE("the writer shows the file only after close()", "[tfrecord]") {
  TemporaryDirectory directory;
  std::string path = directory.file("out.tfrecord");
  SECTION("a writer destroyed without close() leaves nothing") {
    for (Compression compression : kAllCompressions) {
      TFRecordWriter writer(path, compression);
      writer.write(std::string(3 << 20, 'z'));  // more than the output buffer: bytes reach the disk
      CHECK_FALSE(std::filesystem::exists(path));
    }
    CHECK(directory.entries().empty());
  }
  SECTION("close() renames the temporary over an existing file") {
    write_records(path, {"old"});
    TFRecordWriter writer(path);
    writer.write("new");
    CHECK(read_records(path) == std::vector<std::string>{"old"});
    writer.close();
    CHECK(read_records(path) == std::vector<std::string>{"new"});
    CHECK(directory.entries() == std::vector<std::string>{"out.tfrecord"});
    CHECK_THROWS_AS(writer.write("late"), std::logic_error);
  }
  SECTION("a directory that does not exist") {
    std::string bad = directory.file("no/such/dir/out.tfrecord");
    try {
      TFRecordWriter writer(bad);
      FAIL("opening a writer in a missing directory did not throw");
    } catch (const std::runtime_error& error) {
      CHECK_THAT(error.what(), Contains(bad) && Contains("No such file or directory"));
    }
  }
}

TEST_CASE("TFRecord files agree with an independent Python implementation", "[tfrecord][python]") {
  TemporaryDirectory directory;
  // Text, empty, binary with zeros and 0xff, and one long record.
  std::vector<std::string> payloads = {"hello", "", bytes_of({0, 0xff, 0x0a, 0x80, 0, 1}), std::string(20000, 'q'),
                                       "tail"};
  std::string hex_arguments;
  for (const std::string& payload : payloads) hex_arguments += " " + (payload.empty() ? "-" : to_hex(payload));

  for (Compression compression : kAllCompressions) {
    INFO(compression_name(compression));
    SECTION(std::string("written by Python, read here: ") + compression_name(compression)) {
      std::string path = directory.file("from_python");
      CommandResult result = run_python_tfrecord("write '" + path + "' " + compression_name(compression) + hex_arguments);
      INFO("output: " << result.output);
      // A missing python3-crc32c is a failure, not a skip: the check would silently stop running.
      REQUIRE(result.status == 0);
      CHECK(read_records(path, with_compression(compression, 64)) == payloads);
    }
    SECTION(std::string("written here, read by Python: ") + compression_name(compression)) {
      std::string path = directory.file("from_cpp");
      write_records(path, payloads, compression);
      CommandResult result = run_python_tfrecord("read '" + path + "' " + compression_name(compression));
      INFO("output: " << result.output);
      REQUIRE(result.status == 0);
      std::string expected;
      for (const std::string& payload : payloads) expected += to_hex(payload) + "\n";
      CHECK(result.output == expected);
    }
  }
}
