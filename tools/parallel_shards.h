// Shards written side by side: make-data and bench train each hand shard indices to a pool of writer threads.
// The first error stops the handing out and is rethrown once every thread has returned.
#pragma once
#include <cstdint>
#include <functional>

namespace ff::tools {

// Calls write_shard(s) once for every s in [0, shards), on up to `threads` threads (0 or less: one per
// hardware thread). After a call throws, no further shard starts; the first exception is rethrown here.
void write_shards_in_parallel(int64_t shards, int threads, const std::function<void(int64_t shard)>& write_shard);

}  // namespace ff::tools
