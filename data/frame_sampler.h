// Which frames of a video a model reads: all of them (the teacher) or k of them (a student or one of the
// paper's baselines). Every sampler first caps the video at max_frames frames, as the reader does (it
// keeps the first max_frames frames and drops the rest), so with n = min(N, max_frames) every index lies
// in [0, n). Indices come out sorted ascending and distinct. Integer arithmetic only: the same indices on
// every machine.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ff::data {

enum class FrameSampler { All, Uniform, Stride, Random, First, Middle, Last, FirstMiddleLast };

// "all", "uniform", "stride", "random", "first", "middle", "last", "first-middle-last".
const char* frame_sampler_name(FrameSampler sampler);
// The inverse of frame_sampler_name; an unknown name throws std::invalid_argument listing the valid ones.
FrameSampler parse_frame_sampler(std::string_view name);

struct SamplerSpec {
  FrameSampler kind = FrameSampler::All;
  int64_t k = 0;             // frames to keep; ignored by All, at least 1 for every other sampler
  int64_t max_frames = 300;  // the reader's cap on a video's length
};

// Fills `indices` with the frames of a video of `num_frames` frames that `spec` selects. With
// n = min(num_frames, max_frames):
//
//   all               0, 1, ..., n-1                                           (k ignored)
//   uniform           n >= k: index_i = floor((2i+1) * n / (2k)), i = 0..k-1: the centre of each of k
//                     equal segments [i*n/k, (i+1)*n/k). Consecutive centres are n/k >= 1 apart, so the
//                     floors are distinct. n < k: all n frames.
//   stride            j = max(1, max_frames / k) (integer division); indices 0, j, 2j, ... that are < n,
//                     at most k of them: ceil(n / j) capped at k. The paper's released code then keeps
//                     only floor(N / j) of them, dropping the last real frame it sampled when j does not
//                     divide N; every index here is a real frame, so all ceil(n / j) are kept.
//   random            n > k: k distinct indices drawn uniformly without replacement from [0, n) by
//                     Floyd's algorithm, then sorted; draw t uses 32 bits of the Philox stream
//                     (random_sampler_key(seed, video_key), t). The same (seed, video_key) gives the same
//                     indices. n <= k: all n frames.
//   first             0, ..., min(k, n)-1
//   last              n - min(k, n), ..., n-1
//   middle            n >= k: start = floor((n - k) / 2), indices start, ..., start+k-1. n < k: all n.
//   first-middle-last n >= k: a = floor(k/3) first frames 0..a-1, c = floor(k/3) last frames n-c..n-1, and
//                     b = k - a - c middle frames s..s+b-1 with s = floor((n - b) / 2). n < k: all n.
//                     The three runs never overlap: c = a and n >= k = 2a + b give n - b >= 2a, so
//                     s = floor((n - b) / 2) >= a (a is an integer), and s + b <= (n - b) / 2 + b
//                     = n - (n - b) / 2 <= n - a = n - c. Hence a <= s and s + b <= n - c.
//
// num_frames = 0 gives no indices. The vector is cleared first and reused: no allocation when its
// capacity already holds the result (at most min(k, max_frames), or max_frames for All). Throws
// std::invalid_argument for num_frames < 0, max_frames < 1, or k < 1 with any sampler but All.
void sample_frames(const SamplerSpec& spec, int64_t num_frames, uint64_t seed, uint64_t video_key,
                   std::vector<int32_t>& indices);

// The Philox key of the random sampler's stream for one video: the seed mixed with a hash of the
// video's key (a 64-bit finaliser, so neighbouring video keys give unrelated streams).
uint64_t random_sampler_key(uint64_t seed, uint64_t video_key);

}  // namespace ff::data
