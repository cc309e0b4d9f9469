#include "data/frame_sampler.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "kernels/philox.h"

namespace ff::data {

namespace {

struct SamplerName {
  FrameSampler sampler;
  const char* name;
};

constexpr SamplerName kSamplerNames[] = {
    {FrameSampler::All, "all"},       {FrameSampler::Uniform, "uniform"},
    {FrameSampler::Stride, "stride"}, {FrameSampler::Random, "random"},
    {FrameSampler::First, "first"},   {FrameSampler::Middle, "middle"},
    {FrameSampler::Last, "last"},     {FrameSampler::FirstMiddleLast, "first-middle-last"},
};

void append_run(std::vector<int32_t>& indices, int64_t first, int64_t count) {
  for (int64_t i = 0; i < count; ++i) indices.push_back(int32_t(first + i));
}

// Floyd's algorithm: after the step for j, the chosen set is a uniform random subset of [0, j] of the
// size reached so far. Membership is a linear scan: k is at most max_frames, and the scan keeps the
// function free of allocation.
void sample_random(int64_t n, int64_t k, uint64_t key, std::vector<int32_t>& indices) {
  uint64_t draw = 0;
  for (int64_t j = n - k; j < n; ++j, ++draw) {
    // Uniform in [0, j] from 32 random bits by multiply-shift; the bias is below (j+1) / 2^32.
    int64_t t = int64_t((uint64_t(philox::bits(key, draw)) * uint64_t(j + 1)) >> 32);
    bool taken = std::find(indices.begin(), indices.end(), int32_t(t)) != indices.end();
    indices.push_back(int32_t(taken ? j : t));
  }
  std::sort(indices.begin(), indices.end());
}

}  // namespace

const char* frame_sampler_name(FrameSampler sampler) {
  for (const auto& entry : kSamplerNames)
    if (entry.sampler == sampler) return entry.name;
  throw std::invalid_argument("frame_sampler_name: unknown FrameSampler value " + std::to_string(int(sampler)));
}

FrameSampler parse_frame_sampler(std::string_view name) {
  for (const auto& entry : kSamplerNames)
    if (name == entry.name) return entry.sampler;
  std::string valid;
  for (const auto& entry : kSamplerNames) valid += std::string(valid.empty() ? "" : ", ") + entry.name;
  throw std::invalid_argument("unknown frame sampler '" + std::string(name) + "' (valid: " + valid + ")");
}

uint64_t random_sampler_key(uint64_t seed, uint64_t video_key) {
  // splitmix64's finaliser on the video key; the constant keeps video_key 0 from leaving the seed as is.
  uint64_t z = video_key + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return seed ^ z;
}

void sample_frames(const SamplerSpec& spec, int64_t num_frames, uint64_t seed, uint64_t video_key,
                   std::vector<int32_t>& indices) {
  const char* name = frame_sampler_name(spec.kind);
  if (num_frames < 0)
    throw std::invalid_argument(std::string("sample_frames(") + name + "): num_frames " +
                                std::to_string(num_frames) + " is negative");
  if (spec.max_frames < 1 || spec.max_frames > std::numeric_limits<int32_t>::max())
    throw std::invalid_argument(std::string("sample_frames(") + name + "): max_frames " +
                                std::to_string(spec.max_frames) + " must be in [1, 2^31 - 1]");
  if (spec.kind != FrameSampler::All && spec.k < 1)
    throw std::invalid_argument(std::string("sample_frames(") + name + "): k " + std::to_string(spec.k) +
                                " must be at least 1");

  indices.clear();
  const int64_t n = std::min(num_frames, spec.max_frames);
  const int64_t k = spec.k;
  switch (spec.kind) {
    case FrameSampler::All:
      append_run(indices, 0, n);
      return;
    case FrameSampler::Uniform:
      if (n < k) return append_run(indices, 0, n);
      for (int64_t i = 0; i < k; ++i) indices.push_back(int32_t((2 * i + 1) * n / (2 * k)));
      return;
    case FrameSampler::Stride: {
      const int64_t step = std::max<int64_t>(1, spec.max_frames / k);
      for (int64_t index = 0, taken = 0; index < n && taken < k; index += step, ++taken)
        indices.push_back(int32_t(index));
      return;
    }
    case FrameSampler::Random:
      if (n <= k) return append_run(indices, 0, n);
      return sample_random(n, k, random_sampler_key(seed, video_key), indices);
    case FrameSampler::First:
      return append_run(indices, 0, std::min(k, n));
    case FrameSampler::Last:
      return append_run(indices, n - std::min(k, n), std::min(k, n));
    case FrameSampler::Middle:
      if (n < k) return append_run(indices, 0, n);
      return append_run(indices, (n - k) / 2, k);
    case FrameSampler::FirstMiddleLast: {
      if (n < k) return append_run(indices, 0, n);
      const int64_t first = k / 3, last = k / 3, middle = k - first - last;
      append_run(indices, 0, first);
      append_run(indices, (n - middle) / 2, middle);
      append_run(indices, n - last, last);
      return;
    }
  }
}

}  // namespace ff::data
