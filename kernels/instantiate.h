// Explicit instantiation lists, so that each backend's translation unit builds the same set of types.
#pragma once
#include "kernels/common.h"

// The floating types every differentiable op supports: float32 for training, float64 for gradient checks.
#define FF_FOR_FLOAT_TYPES(X) X(float) X(double)

#define FF_FOR_ALL_TYPES(X) X(float) X(double) X(::ff::bfloat16) X(uint8_t) X(int32_t) X(int64_t)

#define FF_FOR_ALL_TYPES_TO(X, From) \
  X(From, float) X(From, double) X(From, ::ff::bfloat16) X(From, uint8_t) X(From, int32_t) X(From, int64_t)
#define FF_FOR_ALL_TYPE_PAIRS(X)                                                                           \
  FF_FOR_ALL_TYPES_TO(X, float)                                                                            \
  FF_FOR_ALL_TYPES_TO(X, double)                                                                           \
  FF_FOR_ALL_TYPES_TO(X, ::ff::bfloat16)                                                                   \
  FF_FOR_ALL_TYPES_TO(X, uint8_t) FF_FOR_ALL_TYPES_TO(X, int32_t) FF_FOR_ALL_TYPES_TO(X, int64_t)
