#include "engine/dtype.h"

#include <stdexcept>

namespace ff {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::BFloat16: return 2;
    case DType::UInt8: return 1;
    case DType::Int32: return 4;
    case DType::Int64: return 8;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::BFloat16: return "bfloat16";
    case DType::UInt8: return "uint8";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
  }
  return "?";
}

const char* dtype_safetensors_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::BFloat16: return "BF16";
    case DType::UInt8: return "U8";
    case DType::Int32: return "I32";
    case DType::Int64: return "I64";
  }
  return "?";
}

DType dtype_from_safetensors_name(const std::string& name) {
  for (DType d : {DType::Float32, DType::Float64, DType::BFloat16, DType::UInt8, DType::Int32, DType::Int64})
    if (name == dtype_safetensors_name(d)) return d;
  throw std::runtime_error("unsupported safetensors dtype \"" + name + "\"");
}

bool is_floating(DType dtype) {
  return dtype == DType::Float32 || dtype == DType::Float64 || dtype == DType::BFloat16;
}

void throw_unsupported_dtype(DType dtype, const char* op) {
  throw std::invalid_argument(std::string(op) + ": dtype " + dtype_name(dtype) +
                              " is not supported (float32 and float64 are)");
}

}  // namespace ff
