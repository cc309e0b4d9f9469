#include "engine/checkpoint.h"

#include <stdexcept>
#include <unordered_map>

namespace ff {

void save_checkpoint(const std::string& path, const ParameterSet& parameters, const NamedTensors& extra,
                     const StringMap& metadata) {
  NamedTensors tensors;
  tensors.reserve(parameters.all().size() + extra.size());
  for (const Parameter& parameter : parameters.all()) tensors.emplace_back(parameter.name, parameter.value);
  for (const auto& [name, tensor] : extra) {
    if (parameters.find(name))
      throw std::invalid_argument("checkpoint " + path + ": extra tensor \"" + name +
                                  "\" has the name of a parameter");
    tensors.emplace_back(name, tensor);
  }
  write_safetensors(path, tensors, metadata);
}

namespace {

std::string join(const std::vector<std::string>& items) {
  std::string text;
  for (size_t i = 0; i < items.size(); ++i) text += (i ? ", " : "") + items[i];
  return text;
}

}  // namespace

CheckpointContents load_checkpoint_into(const std::string& path, ParameterSet& parameters,
                                        const LoadOptions& options) {
  SafetensorsContents file = read_safetensors(path);
  std::unordered_map<std::string, const Tensor*> in_file;
  for (const auto& [name, tensor] : file.tensors) in_file.emplace(name, &tensor);

  std::vector<std::string> missing, unexpected, misshaped, wrong_dtype;
  for (const Parameter& parameter : parameters.all()) {
    auto it = in_file.find(parameter.name);
    if (it == in_file.end()) {
      missing.push_back(parameter.name);
      continue;
    }
    const Tensor& found = *it->second;
    if (found.shape() != parameter.value.shape())
      misshaped.push_back(parameter.name + " (expected " + shape_str(parameter.value.shape()) + ", found " +
                          shape_str(found.shape()) + ")");
    if (found.dtype() != parameter.value.dtype())
      wrong_dtype.push_back(parameter.name + " (expected " + dtype_name(parameter.value.dtype()) + ", found " +
                            dtype_name(found.dtype()) + ")");
  }
  CheckpointContents contents;
  for (const auto& [name, tensor] : file.tensors) {
    if (parameters.find(name)) continue;
    unexpected.push_back(name);
    contents.extra.emplace_back(name, tensor);
  }
  if (options.allow_extra_tensors) unexpected.clear();

  std::string problems;
  auto report = [&](const char* what, const std::vector<std::string>& names) {
    if (!names.empty()) problems += std::string(problems.empty() ? "" : "; ") + what + ": " + join(names);
  };
  report("missing tensors", missing);
  report("unexpected tensors (allow_extra_tensors ignores them)", unexpected);
  report("mis-shaped tensors", misshaped);
  report("tensors of another dtype", wrong_dtype);
  if (!problems.empty())
    throw std::runtime_error("checkpoint " + path + " does not match the parameters: " + problems);

  // Only now, so that a failed load leaves the parameters as they were.
  for (Parameter& parameter : parameters.all()) parameter.value.copy_from(*in_file.at(parameter.name));
  contents.metadata = std::move(file.metadata);
  return contents;
}

}  // namespace ff
