// The GPU suite's entry point: exits 77 (CTest's "skipped") when this machine has no usable GPU.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdio>

#include "engine/device.h"

int main(int argc, char** argv) {
  if (!ff::cuda_available()) {
    std::printf("no usable CUDA device (%s): GPU tests skipped\n",
                ff::cuda_compiled() ? "driver or device missing" : "built without CUDA");
    return 77;
  }
  std::printf("GPU tests on %s\n", ff::cuda_device_name(0).c_str());
  return Catch::Session().run(argc, argv);
}
