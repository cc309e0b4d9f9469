// Calls the kernel of the tensor's device: ff::cuda::fn on a GPU, ff::cpu::fn (the reference) otherwise.
// Both share one signature, declared once in kernels/<op>.h.
#pragma once
#include "engine/device.h"

#if FF_WITH_CUDA
#define FF_RUN_KERNEL(device, fn, ...) \
  do {                                 \
    if ((device).is_cuda())            \
      ::ff::cuda::fn(__VA_ARGS__);     \
    else                               \
      ::ff::cpu::fn(__VA_ARGS__);      \
  } while (0)
#else
#define FF_RUN_KERNEL(device, fn, ...)        \
  do {                                        \
    if ((device).is_cuda())                   \
      ::ff::throw_no_cuda(#fn);               \
    else                                      \
      ::ff::cpu::fn(__VA_ARGS__);             \
  } while (0)
#endif
