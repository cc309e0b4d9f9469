#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "support/temporary_directory.h"
#include "support/test_files.h"
#include "engine/safetensors.h"

using namespace ff;
using Catch::Matchers::Contains;

using test::read_bytes;
using test::TemporaryDirectory;
using test::write_bytes;

namespace {


// A file by hand: the length prefix, the header text exactly as given (no alignment padding) and
// `data_size` bytes of data.
void write_raw_safetensors(const std::string& path, const std::string& header, size_t data_size) {
  uint64_t length = header.size();
  std::string bytes(reinterpret_cast<const char*>(&length), sizeof length);
  bytes += header;
  bytes += std::string(data_size, '\x5a');
  write_bytes(path, bytes);
}

std::string tensor_bytes(const Tensor& tensor) {
  return std::string(static_cast<const char*>(tensor.raw_data()), tensor.nbytes());
}

bfloat16 bf16_from_bits(uint16_t bits) { return bfloat16{bits}; }

// One tensor of each dtype with awkward values, a 0-d tensor and two empty ones.
NamedTensors every_kind_of_tensor(bool finite_only) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> f32 = {1.5f, -2.25f, 3.0e38f, 1.0e-40f, -0.0f, finite_only ? 7.0f : inf};
  std::vector<double> f64 = {0.1, -1.0e300, 5.0e-324, 42.0};
  std::vector<bfloat16> bf16 = {float_to_bf16(1.0f), float_to_bf16(-3.140625f), bf16_from_bits(0x0001),
                                bf16_from_bits(0x7f7f), float_to_bf16(0.0f), bf16_from_bits(0x8000)};
  std::vector<uint8_t> u8 = {0, 1, 127, 128, 255};
  std::vector<int32_t> i32 = {std::numeric_limits<int32_t>::min(), -1, 0, std::numeric_limits<int32_t>::max()};
  // Within 2^53 so the Python side's floats hold them exactly.
  std::vector<int64_t> i64 = {-(int64_t(1) << 53), -7, 0, int64_t(1) << 40, (int64_t(1) << 53) - 1, 3};
  return {
      {"weights.f32", Tensor::from_vector(f32, {2, 3})},
      {"weights.f64", Tensor::from_vector(f64, {4})},
      {"weights.bf16", Tensor::from_vector(bf16, {3, 1, 2})},
      {"counts.u8", Tensor::from_vector(u8, {5})},
      {"labels.i32", Tensor::from_vector(i32, {2, 2})},
      {"steps.i64", Tensor::from_vector(i64, {3, 2})},
      {"scalar", Tensor::from_vector(std::vector<double>{-6.5}, {})},
      {"empty", Tensor::empty({0}, DType::Float32)},
      {"empty.3d", Tensor::empty({3, 0, 2}, DType::Int64)},
  };
}

}  // namespace

TEST_CASE("safetensors round trip keeps order, dtypes, shapes, bytes and metadata", "[safetensors]") {
  TemporaryDirectory directory;
  std::string path = directory.file("all.safetensors");
  NamedTensors written = every_kind_of_tensor(/*finite_only=*/false);
  StringMap metadata = {{"epoch", "3"}, {"note", "quotes \" and \u00fcnicode"}, {"empty", ""}};
  write_safetensors(path, written, metadata);

  SafetensorsContents read = read_safetensors(path);
  CHECK(read.metadata == metadata);
  REQUIRE(read.tensors.size() == written.size());
  for (size_t i = 0; i < written.size(); ++i) {
    INFO("tensor " << written[i].first);
    const Tensor& expected = written[i].second;
    const Tensor& found = read.tensors[i].second;
    CHECK(read.tensors[i].first == written[i].first);
    CHECK(found.dtype() == expected.dtype());
    CHECK(found.shape() == expected.shape());
    CHECK(found.device() == Device::cpu());
    CHECK(tensor_bytes(found) == tensor_bytes(expected));  // bitwise: NaN payloads, -0.0 and denormals too
  }
  CHECK(read.tensors[6].second.item() == -6.5);
}

TEST_CASE("safetensors without metadata or tensors", "[safetensors]") {
  TemporaryDirectory directory;
  std::string path = directory.file("nothing.safetensors");
  write_safetensors(path, {});
  std::string bytes = read_bytes(path);
  CHECK(bytes == std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
  SafetensorsContents read = read_safetensors(path);
  CHECK(read.tensors.empty());
  CHECK(read.metadata.empty());
}

TEST_CASE("safetensors byte layout of a tiny file", "[safetensors]") {
  TemporaryDirectory directory;
  std::string path = directory.file("tiny.safetensors");
  write_safetensors(path,
                    {{"b", Tensor::from_vector(std::vector<float>{1.0f, 2.0f}, {2})},
                     {"a", Tensor::from_vector(std::vector<uint8_t>{1, 2, 3}, {3})}},
                    {{"k", "v"}});
  const std::string expected_json =
      R"({"__metadata__":{"k":"v"},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("a":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}})";
  std::string bytes = read_bytes(path);
  REQUIRE(bytes.size() >= 8);
  uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | uint8_t(bytes[size_t(i)]);  // little-endian
  CHECK((8 + header_length) % 8 == 0);
  CHECK(header_length == (expected_json.size() + 7) / 8 * 8);  // padded by fewer than 8 spaces
  REQUIRE(bytes.size() == 8 + header_length + 11);
  std::string header = bytes.substr(8, header_length);
  CHECK(header.substr(0, expected_json.size()) == expected_json);
  CHECK(header.substr(expected_json.size()) == std::string(header_length - expected_json.size(), ' '));
  const unsigned char data[] = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40, 0x01, 0x02, 0x03};
  CHECK(bytes.substr(8 + header_length) == std::string(reinterpret_cast<const char*>(data), sizeof data));
}

TEST_CASE("safetensors writer writes a view's own elements and CUDA tensors from the host", "[safetensors]") {
  TemporaryDirectory directory;
  std::string path = directory.file("view.safetensors");
  Tensor rows = Tensor::from_vector(std::vector<int32_t>{1, 2, 3, 4, 5, 6}, {3, 2});
  NamedTensors tensors = {{"middle", rows.narrow_rows(1, 1)}};
  // The CPU suite also runs on GPU machines; there it checks the device-to-host copy as well.
  if (cuda_available()) tensors.emplace_back("on_gpu", rows.to(Device::cuda()));
  write_safetensors(path, tensors);
  SafetensorsContents read = read_safetensors(path);
  REQUIRE(read.tensors.size() == tensors.size());
  CHECK(read.tensors[0].second.to_vector<int32_t>() == std::vector<int32_t>{3, 4});
  CHECK(read.tensors[0].second.shape() == Shape{1, 2});
  if (cuda_available()) {
    CHECK(read.tensors[1].second.device() == Device::cpu());
    CHECK(read.tensors[1].second.to_vector<int32_t>() == std::vector<int32_t>{1, 2, 3, 4, 5, 6});
  }
}

TEST_CASE("safetensors writer rejects bad input and writes nothing", "[safetensors]") {
  TemporaryDirectory directory;
  std::string path = directory.file("bad.safetensors");
  Tensor x = Tensor::zeros({2});
  CHECK_THROWS_AS(write_safetensors(path, {{"x", x}, {"x", x}}), std::invalid_argument);
  CHECK_THROWS_WITH(write_safetensors(path, {{"x", x}, {"x", x}}), Contains("\"x\" appears twice") && Contains(path));
  CHECK_THROWS_WITH(write_safetensors(path, {{"__metadata__", x}}), Contains("reserved"));
  CHECK_THROWS_WITH(write_safetensors(path, {{"u", Tensor()}}), Contains("\"u\" is undefined"));
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK(std::filesystem::is_empty(directory.path));
}

TEST_CASE("safetensors reader reports every malformation with the path", "[safetensors]") {
  TemporaryDirectory directory;
  std::string path = directory.file("broken.safetensors");
  const std::string f32_2 = R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})";

  SECTION("a well-formed hand-written file reads (the helper itself is sound)") {
    write_raw_safetensors(path, R"({"a":)" + f32_2 + R"(,"__metadata__":{"k":"v"}})", 8);
    SafetensorsContents read = read_safetensors(path);
    REQUIRE(read.tensors.size() == 1);
    CHECK(read.tensors[0].first == "a");
    CHECK(read.metadata == StringMap{{"k", "v"}});
  }
  SECTION("no file") {
    CHECK_THROWS_WITH(read_safetensors(path), Contains(path) && Contains("cannot open"));
  }
  SECTION("shorter than 8 bytes") {
    write_bytes(path, "abcde");
    CHECK_THROWS_AS(read_safetensors(path), std::runtime_error);
    CHECK_THROWS_WITH(read_safetensors(path), Contains(path) && Contains("shorter than 8 bytes"));
  }

  struct Case {
    const char* what;
    std::string header;
    size_t data_size;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"invalid JSON", R"({"a": {"dtype": )", 0, "the header is not valid JSON"},
      {"not an object", "[1, 2]", 0, "the header is not a JSON object"},
      {"entry not an object", R"({"a": 3})", 0, R"(tensor "a": the entry is not a JSON object)"},
      {"missing dtype", R"({"a":{"shape":[2],"data_offsets":[0,8]}})", 8, R"(tensor "a": missing field "dtype")"},
      {"missing shape", R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", 8, R"(tensor "a": missing field "shape")"},
      {"missing offsets", R"({"a":{"dtype":"F32","shape":[2]}})", 8, R"(tensor "a": missing field "data_offsets")"},
      {"unknown dtype", R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}})", 4,
       R"(tensor "a": unsupported safetensors dtype "F16")"},
      {"negative extent", R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8,
       "is not a list of non-negative integers"},
      {"offsets not integers", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[-1,7]}})", 8,
       "are not two non-negative integers"},
      {"three offsets", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}})", 8,
       "are not two non-negative integers"},
      {"begin after end", R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8, "begin after they end"},
      {"size mismatch", R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4,
       "span 4 bytes, but F32 [2] needs 8"},
      {"data beyond the end", R"({"a":)" + f32_2 + "}", 5, "reach beyond the end of the data (5 bytes"},
      {"overlap", R"({"a":)" + f32_2 + R"(,"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12,
       R"(tensor "b": data_offsets [4, 12] overlap tensor "a")"},
      {"gap", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
       12, R"(tensor "b": data_offsets [8, 12] leave a gap)"},
      {"trailing bytes", R"({"a":)" + f32_2 + "}", 12, "4 bytes after the last tensor's data"},
      {"duplicate name", R"({"a":)" + f32_2 + R"(,"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 16,
       R"(the name "a" appears more than once)"},
      {"metadata not an object", R"({"__metadata__":[1]})", 0, "__metadata__ is not a JSON object"},
      {"metadata value not a string", R"({"__metadata__":{"k":1}})", 0, R"(value of "k" is not a string)"},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.what) {
      write_raw_safetensors(path, c.header, c.data_size);
      CHECK_THROWS_AS(read_safetensors(path), std::runtime_error);
      CHECK_THROWS_WITH(read_safetensors(path), Contains(path) && Contains(c.message));
    }
  }

  SECTION("header length beyond the file") {
    write_raw_safetensors(path, R"({"a":)" + f32_2 + "}", 8);
    std::string bytes = read_bytes(path);
    bytes[0] = char(0xff);
    bytes[1] = char(0x7f);
    write_bytes(path, bytes);
    CHECK_THROWS_WITH(read_safetensors(path),
                      Contains(path) && Contains("header length 32767 reaches beyond the end of the file"));
  }
}

TEST_CASE("a safetensors file written here is read by an independent Python reader", "[safetensors][python]") {
  TemporaryDirectory directory;
  std::string path = directory.file("for_python.safetensors");
  // JSON has no NaN or infinity, so the values are finite here; the C++ round trip covers the others.
  NamedTensors written = every_kind_of_tensor(/*finite_only=*/true);
  StringMap metadata = {{"epoch", "12"}, {"model", "nextvlad"}};
  write_safetensors(path, written, metadata);

  test::CommandResult python = test::run_python_script("read_safetensors.py", "'" + path + "'");
  INFO("command: " << python.command);
  INFO("output: " << python.output);
  // A missing numpy is a failure, not a skip: CI installs python3-numpy, and a silent skip would hide
  // that this check no longer runs.
  REQUIRE(python.status == 0);
  const std::string& output = python.output;

  nlohmann::json parsed = nlohmann::json::parse(output);
  CHECK(parsed["metadata"] == nlohmann::json(metadata));
  const nlohmann::json& tensors = parsed["tensors"];
  REQUIRE(tensors.size() == written.size());
  for (size_t i = 0; i < written.size(); ++i) {
    const auto& [name, tensor] = written[i];
    INFO("tensor " << name);
    CHECK(tensors[i]["name"] == name);
    CHECK(tensors[i]["dtype"] == dtype_safetensors_name(tensor.dtype()));
    CHECK(tensors[i]["shape"].get<Shape>() == tensor.shape());
    // bf16 widens to float exactly, every other dtype's test values are exact doubles.
    std::vector<double> expected = tensor.to_vector<double>();
    CHECK(tensors[i]["values"].get<std::vector<double>>() == expected);
  }
}
