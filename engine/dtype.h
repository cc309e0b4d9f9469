// Element types a tensor can hold.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/common.h"

namespace ff {

enum class DType : uint8_t { Float32, Float64, BFloat16, UInt8, Int32, Int64 };

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);  // "float32", ...
// The safetensors spelling: "F32", "F64", "BF16", "U8", "I32", "I64".
const char* dtype_safetensors_name(DType dtype);
DType dtype_from_safetensors_name(const std::string& name);  // throws on an unknown name
bool is_floating(DType dtype);

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() { return DType::Float32; }
template <>
constexpr DType dtype_of<double>() { return DType::Float64; }
template <>
constexpr DType dtype_of<bfloat16>() { return DType::BFloat16; }
template <>
constexpr DType dtype_of<uint8_t>() { return DType::UInt8; }
template <>
constexpr DType dtype_of<int32_t>() { return DType::Int32; }
template <>
constexpr DType dtype_of<int64_t>() { return DType::Int64; }

// Calls f.template operator()<T>() with T the C++ type of dtype.
template <class F>
decltype(auto) visit_dtype(DType dtype, F&& f) {
  switch (dtype) {
    case DType::Float32: return f.template operator()<float>();
    case DType::Float64: return f.template operator()<double>();
    case DType::BFloat16: return f.template operator()<bfloat16>();
    case DType::UInt8: return f.template operator()<uint8_t>();
    case DType::Int32: return f.template operator()<int32_t>();
    case DType::Int64: return f.template operator()<int64_t>();
  }
  return f.template operator()<float>();
}

// The same for the floating types differentiable ops support (float32 and float64); others throw.
void throw_unsupported_dtype(DType dtype, const char* op);
template <class F>
decltype(auto) visit_float_dtype(DType dtype, const char* op, F&& f) {
  if (dtype == DType::Float32) return f.template operator()<float>();
  if (dtype == DType::Float64) return f.template operator()<double>();
  throw_unsupported_dtype(dtype, op);
}

}  // namespace ff
