#include "tools/parallel_shards.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace ff::tools {

void write_shards_in_parallel(int64_t shards, int threads, const std::function<void(int64_t shard)>& write_shard) {
  std::atomic<int64_t> next_shard{0};
  std::mutex error_mutex;
  std::exception_ptr error;
  auto work = [&] {
    for (int64_t s; (s = next_shard++) < shards;) {
      {
        std::lock_guard lock(error_mutex);
        if (error) return;
      }
      try {
        write_shard(s);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!error) error = std::current_exception();
        return;
      }
    }
  };
  if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (int64_t t = 0; t < std::min<int64_t>(threads, shards); ++t) pool.emplace_back(work);
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace ff::tools
