#include "data/data_error.h"

namespace ff::data {
namespace {
std::string describe(const std::string& file, uint64_t offset, const std::string& id, const std::string& reason) {
  std::string text = file.empty() ? "<memory>" : file;
  if (offset != DataError::kNoOffset) text += ": offset " + std::to_string(offset);
  if (!id.empty()) text += " (id '" + id + "')";
  return text + ": " + reason;
}
}  // namespace

DataError::DataError(std::string file, uint64_t offset, std::string id, const std::string& reason)
    : std::runtime_error(describe(file, offset, id, reason)),
      file_(std::move(file)),
      id_(std::move(id)),
      reason_(reason),
      offset_(offset) {}

}  // namespace ff::data
