#include "engine/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <fstream>
#include <limits>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "engine/atomic_file.h"

namespace ff {

// Tensor bytes and the header length go to disk as they are in memory.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

using Json = nlohmann::ordered_json;  // keeps the header's key order: the writer's tensor order
constexpr const char* kMetadataKey = "__metadata__";
constexpr size_t kDataAlignment = 8;

std::string in_quotes(const std::string& text) { return "\"" + text + "\""; }

}  // namespace

void write_safetensors(const std::string& path, const NamedTensors& tensors, const StringMap& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) {
    Json entries = Json::object();
    for (const auto& [key, value] : metadata) entries[key] = value;
    header[kMetadataKey] = entries;
  }
  std::set<std::string> names;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    if (name == kMetadataKey)
      throw std::invalid_argument("safetensors " + path + ": tensor name " + in_quotes(name) + " is reserved");
    if (!names.insert(name).second)
      throw std::invalid_argument("safetensors " + path + ": tensor name " + in_quotes(name) + " appears twice");
    if (!tensor.defined())
      throw std::invalid_argument("safetensors " + path + ": tensor " + in_quotes(name) + " is undefined");
    uint64_t end = offset + tensor.nbytes();
    header[name] = {{"dtype", dtype_safetensors_name(tensor.dtype())},
                    {"shape", tensor.shape()},
                    {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string header_text = header.dump();
  // Trailing spaces are valid JSON whitespace; they make 8 + N a multiple of 8 so the data is aligned.
  header_text.append((kDataAlignment - header_text.size() % kDataAlignment) % kDataAlignment, ' ');
  uint64_t header_length = header_text.size();

  write_file_atomically(path, [&](AtomicFileWriter& file) {
    file.write(&header_length, sizeof header_length);
    file.write(header_text.data(), header_text.size());
    for (const auto& [name, tensor] : tensors) {
      Tensor host = tensor.to(Device::cpu());  // one at a time: a checkpoint need not fit in host memory twice
      file.write(host.raw_data(), host.nbytes());
    }
  });
}

namespace {

struct TensorEntry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

class SafetensorsReader {
 public:
  explicit SafetensorsReader(std::string path) : path_(std::move(path)) {}

  // The whole file: header, layout checks, every tensor's bytes.
  SafetensorsContents read() {
    std::ifstream file = open_and_read_header();
    SafetensorsContents contents;
    std::vector<TensorEntry> entries = parse_header(header_text_, contents.metadata);
    check_layout(entries);
    for (const TensorEntry& entry : entries) {
      Tensor tensor = Tensor::empty(entry.shape, entry.dtype, Device::cpu());
      file.seekg(std::streamoff(data_start_ + entry.begin));
      file.read(static_cast<char*>(tensor.raw_data()), std::streamsize(tensor.nbytes()));
      if (!file) fail("reading the data of tensor " + in_quotes(entry.name) + " failed");
      contents.tensors.emplace_back(entry.name, std::move(tensor));
    }
    return contents;
  }

  // The metadata alone, from the validated header; no tensor byte is read.
  StringMap read_metadata() {
    open_and_read_header();
    StringMap metadata;
    parse_header(header_text_, metadata);
    return metadata;
  }

 private:
  std::ifstream open_and_read_header() {
    std::ifstream file(path_, std::ios::binary);
    if (!file) fail("cannot open the file");
    file.seekg(0, std::ios::end);
    const uint64_t file_size = uint64_t(file.tellg());
    file.seekg(0);
    if (file_size < sizeof(uint64_t))
      fail("the file is shorter than 8 bytes (" + std::to_string(file_size) + "): no header length");
    uint64_t header_length = 0;
    file.read(reinterpret_cast<char*>(&header_length), sizeof header_length);
    if (header_length > file_size - sizeof(uint64_t))
      fail("header length " + std::to_string(header_length) + " reaches beyond the end of the file (" +
           std::to_string(file_size) + " bytes)");
    header_text_.assign(header_length, '\0');
    file.read(header_text_.data(), std::streamsize(header_length));
    if (!file) fail("reading the header failed");
    data_start_ = sizeof(uint64_t) + header_length;
    data_size_ = file_size - data_start_;
    return file;
  }

  [[noreturn]] void fail(const std::string& reason) const {
    throw std::runtime_error("safetensors file " + path_ + ": " + reason);
  }
  [[noreturn]] void fail_tensor(const std::string& name, const std::string& reason) const {
    fail("tensor " + in_quotes(name) + ": " + reason);
  }

  std::vector<TensorEntry> parse_header(const std::string& header_text, StringMap& metadata) const {
    // A JSON object keeps only the last of repeated keys, so repeated tensor names are caught while parsing.
    std::set<std::string> names;
    std::string repeated_name;
    auto watch_top_level_keys = [&](int depth, Json::parse_event_t event, Json& parsed) {
      if (event == Json::parse_event_t::key && depth == 1 && !names.insert(parsed.get<std::string>()).second &&
          repeated_name.empty())
        repeated_name = parsed.get<std::string>();
      return true;
    };
    Json header;
    try {
      header = Json::parse(header_text, watch_top_level_keys);
    } catch (const Json::parse_error& error) {
      fail(std::string("the header is not valid JSON: ") + error.what());
    }
    if (!header.is_object()) fail("the header is not a JSON object");
    if (!repeated_name.empty()) fail("the name " + in_quotes(repeated_name) + " appears more than once in the header");

    std::vector<TensorEntry> entries;
    for (const auto& [name, value] : header.items()) {
      if (name == kMetadataKey)
        metadata = parse_metadata(value);
      else
        entries.push_back(parse_entry(name, value));
    }
    return entries;
  }

  StringMap parse_metadata(const Json& value) const {
    if (!value.is_object()) fail(std::string(kMetadataKey) + " is not a JSON object");
    StringMap metadata;
    for (const auto& [key, text] : value.items()) {
      if (!text.is_string()) fail(std::string(kMetadataKey) + " value of " + in_quotes(key) + " is not a string");
      metadata[key] = text.get<std::string>();
    }
    return metadata;
  }

  static bool is_size(const Json& value) {
    return value.is_number_unsigned() && value.get<uint64_t>() <= uint64_t(std::numeric_limits<int64_t>::max());
  }

  const Json& field(const std::string& name, const Json& value, const char* key) const {
    auto it = value.find(key);
    if (it == value.end()) fail_tensor(name, "missing field " + in_quotes(key));
    return *it;
  }

  TensorEntry parse_entry(const std::string& name, const Json& value) const {
    if (!value.is_object()) fail_tensor(name, "the entry is not a JSON object");
    TensorEntry entry;
    entry.name = name;

    const Json& dtype = field(name, value, "dtype");
    if (!dtype.is_string()) fail_tensor(name, "dtype is not a string");
    try {
      entry.dtype = dtype_from_safetensors_name(dtype.get<std::string>());
    } catch (const std::exception& error) {
      fail_tensor(name, error.what());
    }

    const Json& shape = field(name, value, "shape");
    if (!shape.is_array()) fail_tensor(name, "shape is not an array");
    uint64_t expected_bytes = dtype_size(entry.dtype);
    for (const Json& extent : shape) {
      if (!is_size(extent)) fail_tensor(name, "shape " + shape.dump() + " is not a list of non-negative integers");
      entry.shape.push_back(extent.get<int64_t>());
      if (__builtin_mul_overflow(expected_bytes, extent.get<uint64_t>(), &expected_bytes))
        fail_tensor(name, "shape " + shape.dump() + " is too large");
    }

    const Json& offsets = field(name, value, "data_offsets");
    if (!offsets.is_array() || offsets.size() != 2 || !is_size(offsets[0]) || !is_size(offsets[1]))
      fail_tensor(name, "data_offsets " + offsets.dump() + " are not two non-negative integers");
    entry.begin = offsets[0].get<uint64_t>();
    entry.end = offsets[1].get<uint64_t>();
    if (entry.begin > entry.end) fail_tensor(name, "data_offsets " + offsets.dump() + " begin after they end");
    if (entry.end - entry.begin != expected_bytes)
      fail_tensor(name, "data_offsets " + offsets.dump() + " span " + std::to_string(entry.end - entry.begin) +
                            " bytes, but " + dtype.get<std::string>() + " " + shape_str(entry.shape) + " needs " +
                            std::to_string(expected_bytes));
    if (entry.end > data_size_)
      fail_tensor(name, "data_offsets " + offsets.dump() + " reach beyond the end of the data (" +
                            std::to_string(data_size_) + " bytes after the header): the file is truncated");
    return entry;
  }

  // Like the reference implementation, require the tensors to tile the data section exactly: in offset
  // order, each starts where the previous one ended, and the last one ends at the end of the file.
  void check_layout(std::vector<TensorEntry>& entries) const {
    std::stable_sort(entries.begin(), entries.end(), [](const TensorEntry& a, const TensorEntry& b) {
      return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    uint64_t previous_end = 0;
    for (size_t i = 0; i < entries.size(); ++i) {
      const TensorEntry& entry = entries[i];
      if (entry.begin < previous_end)
        fail_tensor(entry.name, "data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
                                    "] overlap tensor " + in_quotes(entries[i - 1].name) + " (ending at " +
                                    std::to_string(previous_end) + ")");
      if (entry.begin > previous_end)
        fail_tensor(entry.name, "data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
                                    "] leave a gap: the data before it ends at " + std::to_string(previous_end));
      previous_end = entry.end;
    }
    if (previous_end != data_size_)
      fail(std::to_string(data_size_ - previous_end) + " bytes after the last tensor's data (" +
           std::to_string(data_size_) + " bytes of data, tensors cover " + std::to_string(previous_end) + ")");
  }

  std::string path_;
  uint64_t data_start_ = 0;
  uint64_t data_size_ = 0;
  std::string header_text_;
};

}  // namespace

SafetensorsContents read_safetensors(const std::string& path) { return SafetensorsReader(path).read(); }

StringMap read_safetensors_metadata(const std::string& path) { return SafetensorsReader(path).read_metadata(); }

}  // namespace ff
