// The safetensors file format (https://github.com/huggingface/safetensors): a little-endian u64 header
// length N, N bytes of JSON header, then the raw tensor bytes.
//   {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value"}}
// Offsets count from the first byte after the header; data is row-major and little-endian. Files
// written here keep the given tensor order, leave no gaps, and pad the header with spaces so the data
// starts 8-byte aligned.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"

namespace ff {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
using StringMap = std::map<std::string, std::string>;

struct SafetensorsContents {
  NamedTensors tensors;  // on the CPU, in the order of their data in the file
  StringMap metadata;    // the "__metadata__" entry; empty when the file has none
};

// Writes atomically (engine/atomic_file.h); CUDA tensors are copied to the host one at a time. Throws
// std::invalid_argument on an undefined tensor, a repeated name or the reserved name "__metadata__", and
// std::runtime_error when the file cannot be written.
void write_safetensors(const std::string& path, const NamedTensors& tensors, const StringMap& metadata = {});

// Reads and validates the whole file; every malformation throws std::runtime_error naming the path and
// the reason (truncation, bad JSON, missing fields, unknown dtypes, inconsistent or overlapping offsets,
// repeated names).
SafetensorsContents read_safetensors(const std::string& path);

// The "__metadata__" entry alone, after the same header checks, without reading any tensor: what a caller
// needs to know (e.g. a checkpoint's architecture) before it can receive the tensors.
StringMap read_safetensors_metadata(const std::string& path);

}  // namespace ff
