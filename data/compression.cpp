#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "data/tfrecord.h"

namespace ff::data {

Compression parse_compression(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (lower.empty() || lower == "none") return Compression::None;
  if (lower == "gzip") return Compression::Gzip;
  if (lower == "zlib") return Compression::Zlib;
  throw std::invalid_argument("unknown TFRecord compression '" + name + "' (expected none, gzip or zlib)");
}

const char* compression_name(Compression compression) {
  switch (compression) {
    case Compression::None: return "none";
    case Compression::Gzip: return "gzip";
    case Compression::Zlib: return "zlib";
  }
  return "unknown";
}

}  // namespace ff::data
