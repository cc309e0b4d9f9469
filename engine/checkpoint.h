// Checkpoints: the tensors of a ParameterSet (trainable parameters and buffers, under their names), plus
// optional extra tensors (optimizer state) and string metadata, in one safetensors file written atomically.
#pragma once
#include <string>

#include "engine/parameters.h"
#include "engine/safetensors.h"

namespace ff {

// Parameters first, in registration order, then `extra`. An extra tensor may not reuse a parameter's name.
void save_checkpoint(const std::string& path, const ParameterSet& parameters, const NamedTensors& extra = {},
                     const StringMap& metadata = {});

struct LoadOptions {
  // Tensors in the file that are not in the ParameterSet (optimizer state, a head being replaced) are an
  // error unless this is set; either way they are returned in CheckpointContents::extra.
  bool allow_extra_tensors = false;
};

struct CheckpointContents {
  NamedTensors extra;  // on the CPU, in file order
  StringMap metadata;
};

// Copies every tensor of the file into the parameter of the same name, on whatever device it lives. The
// dtypes must match exactly (nothing is converted). Before anything is copied, all problems are collected
// and thrown together in one std::runtime_error: missing tensors, unexpected tensors, and tensors whose
// shape or dtype differ, each by name with the expected and found value.
CheckpointContents load_checkpoint_into(const std::string& path, ParameterSet& parameters,
                                        const LoadOptions& options = {});

}  // namespace ff
