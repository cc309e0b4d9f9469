// The one random source: a Philox stream identified by (seed, offset). Every draw takes the next
// `count` elements of the stream, so CPU and GPU draws agree and the state is two integers to checkpoint.
#pragma once
#include <cstdint>

namespace ff {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0, uint64_t offset = 0) : seed_(seed), offset_(offset) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  // Reserves `count` stream elements and returns the offset of the first.
  uint64_t advance(uint64_t count) {
    uint64_t first = offset_;
    offset_ += count;
    return first;
  }
  void set_state(uint64_t seed, uint64_t offset) {
    seed_ = seed;
    offset_ = offset;
  }

 private:
  uint64_t seed_;
  uint64_t offset_;
};

}  // namespace ff
