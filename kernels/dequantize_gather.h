// Frame sampling and dequantisation in one pass: from padded uint8 frames [batch, frames, size] already on
// the device and sampled frame indices [batch, k], the float frames [batch, k, size], each value exactly
// kernels/dequantize.h's. A sampled view then needs neither a float copy of every frame nor a second pass.
//
// Index -1 marks a padding slot (a video shorter than k). A padding slot holds dequantize_value(0), what
// a zero-padded uint8 frame dequantises to, so the result equals dequantising the loader's own padded
// uint8 view of the same frames. Any other index outside [0, frames) is read as padding too, on both
// backends alike: checking device-resident indices on the host would cost a copy and a synchronisation,
// and this way the kernels never read out of bounds.
#pragma once
#include "kernels/common.h"
#include "kernels/dequantize.h"

#define FF_DEQUANTIZE_GATHER_KERNELS                                                                        \
  /* y[b, i, :] = dequantize(q[b, indices[b, i], :]), or dequantize_value(0) for a padding index */        \
  void dequantize_gather(int64_t batch, int64_t frames, int64_t size, int64_t k, const uint8_t* q,        \
                         const int32_t* indices, float* y);

namespace ff::cpu {
FF_DEQUANTIZE_GATHER_KERNELS
}
namespace ff::cuda {
FF_DEQUANTIZE_GATHER_KERNELS
}
