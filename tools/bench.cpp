// The `fewerframes bench` group. Its children live in tools/bench_<name>.cpp and register as "bench <name>".
#include "tools/command.h"

namespace {
const ff::tools::CommandRegistrar bench_group({"bench",
                                               "Measure the speed of ops, kernels, the loader and training",
                                               {}});
}
