// The frame samplers against index lists worked out by hand from the formulas in data/frame_sampler.h,
// and their properties over many video lengths.
#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <set>
#include <stdexcept>

#include "data/frame_sampler.h"

namespace ff::data {

namespace {

std::vector<int32_t> sample(FrameSampler kind, int64_t k, int64_t num_frames, int64_t max_frames = 300,
                            uint64_t seed = 7, uint64_t video_key = 11) {
  std::vector<int32_t> indices;
  sample_frames(SamplerSpec{kind, k, max_frames}, num_frames, seed, video_key, indices);
  return indices;
}

std::vector<int32_t> run(int32_t first, int32_t count) {
  std::vector<int32_t> values(static_cast<size_t>(count));
  std::iota(values.begin(), values.end(), first);
  return values;
}

std::vector<int32_t> concat(std::initializer_list<std::vector<int32_t>> parts) {
  std::vector<int32_t> all;
  for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

constexpr FrameSampler kAllSamplers[] = {FrameSampler::All,   FrameSampler::Uniform, FrameSampler::Stride,
                                         FrameSampler::Random, FrameSampler::First,  FrameSampler::Middle,
                                         FrameSampler::Last,  FrameSampler::FirstMiddleLast};

}  // namespace

TEST_CASE("frame sampler names round-trip and unknown names list the valid ones", "[data][sampler]") {
  const char* names[] = {"all", "uniform", "stride", "random", "first", "middle", "last", "first-middle-last"};
  for (size_t i = 0; i < 8; ++i) {
    CHECK(std::string(frame_sampler_name(kAllSamplers[i])) == names[i]);
    CHECK(parse_frame_sampler(names[i]) == kAllSamplers[i]);
  }
  try {
    parse_frame_sampler("uniform-10");
    FAIL("no exception");
  } catch (const std::invalid_argument& error) {
    std::string message = error.what();
    CHECK(message.find("'uniform-10'") != std::string::npos);
    CHECK(message.find("all, uniform, stride, random, first, middle, last, first-middle-last") != std::string::npos);
  }
}

TEST_CASE("all: every frame up to max_frames", "[data][sampler]") {
  CHECK(sample(FrameSampler::All, 10, 0).empty());
  CHECK(sample(FrameSampler::All, 10, 1) == std::vector<int32_t>{0});
  CHECK(sample(FrameSampler::All, 10, 7) == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6});
  CHECK(sample(FrameSampler::All, 0, 107) == run(0, 107));  // k is ignored
  CHECK(sample(FrameSampler::All, 10, 300) == run(0, 300));
  CHECK(sample(FrameSampler::All, 10, 450) == run(0, 300));
  CHECK(sample(FrameSampler::All, 10, 450, 50) == run(0, 50));
}

TEST_CASE("uniform: the centre of each of k equal segments", "[data][sampler]") {
  CHECK(sample(FrameSampler::Uniform, 10, 1) == std::vector<int32_t>{0});
  CHECK(sample(FrameSampler::Uniform, 10, 7) == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6});
  // N = k: floor((2i+1) * 10 / 20) = i.
  CHECK(sample(FrameSampler::Uniform, 10, 10) == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  // floor((2i+1) * 107 / 20): 107/20 = 5.35, 321/20 = 16.05, 535/20 = 26.75, 749/20 = 37.45, 963/20 = 48.15,
  // 1177/20 = 58.85, 1391/20 = 69.55, 1605/20 = 80.25, 1819/20 = 90.95, 2033/20 = 101.65.
  CHECK(sample(FrameSampler::Uniform, 10, 107) == std::vector<int32_t>{5, 16, 26, 37, 48, 58, 69, 80, 90, 101});
  // (2i+1) * 300 / 20 = 15 (2i+1).
  const std::vector<int32_t> at300{15, 45, 75, 105, 135, 165, 195, 225, 255, 285};
  CHECK(sample(FrameSampler::Uniform, 10, 300) == at300);
  CHECK(sample(FrameSampler::Uniform, 10, 450) == at300);  // capped to 300 first
  // max_frames 50: floor((2i+1) * 50 / 20) = floor(2.5 (2i+1)).
  CHECK(sample(FrameSampler::Uniform, 10, 107, 50) == std::vector<int32_t>{2, 7, 12, 17, 22, 27, 32, 37, 42, 47});
  // k = 3, N = 8: floor(8/6) = 1, floor(24/6) = 4, floor(40/6) = 6.
  CHECK(sample(FrameSampler::Uniform, 3, 8) == std::vector<int32_t>{1, 4, 6});
}

TEST_CASE("stride: every max_frames/k-th frame from the start", "[data][sampler]") {
  // k = 10: j = 300 / 10 = 30.
  CHECK(sample(FrameSampler::Stride, 10, 1) == std::vector<int32_t>{0});
  CHECK(sample(FrameSampler::Stride, 10, 7) == std::vector<int32_t>{0});
  CHECK(sample(FrameSampler::Stride, 10, 10) == std::vector<int32_t>{0});
  CHECK(sample(FrameSampler::Stride, 10, 107) == std::vector<int32_t>{0, 30, 60, 90});
  CHECK(sample(FrameSampler::Stride, 10, 91) == std::vector<int32_t>{0, 30, 60, 90});  // ceil(91/30) = 4
  CHECK(sample(FrameSampler::Stride, 10, 90) == std::vector<int32_t>{0, 30, 60});
  const std::vector<int32_t> at300{0, 30, 60, 90, 120, 150, 180, 210, 240, 270};
  CHECK(sample(FrameSampler::Stride, 10, 300) == at300);
  CHECK(sample(FrameSampler::Stride, 10, 450) == at300);
  // k = 7: j = 300 / 7 = 42; 7 * 42 = 294 < 300 would be an eighth index, but at most k are kept.
  CHECK(sample(FrameSampler::Stride, 7, 300) == std::vector<int32_t>{0, 42, 84, 126, 168, 210, 252});
  // k larger than max_frames: j = max(1, 0) = 1.
  CHECK(sample(FrameSampler::Stride, 400, 5) == std::vector<int32_t>{0, 1, 2, 3, 4});
  // max_frames 50, k = 10: j = 5, n = 50.
  CHECK(sample(FrameSampler::Stride, 10, 107, 50) == std::vector<int32_t>{0, 5, 10, 15, 20, 25, 30, 35, 40, 45});
}

TEST_CASE("first, last and middle: one run of k frames", "[data][sampler]") {
  for (FrameSampler kind : {FrameSampler::First, FrameSampler::Middle, FrameSampler::Last}) {
    CHECK(sample(kind, 10, 1) == std::vector<int32_t>{0});
    CHECK(sample(kind, 10, 7) == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6});
    CHECK(sample(kind, 10, 10) == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  }
  CHECK(sample(FrameSampler::First, 10, 107) == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(sample(FrameSampler::First, 10, 450) == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(sample(FrameSampler::Last, 10, 107) == std::vector<int32_t>{97, 98, 99, 100, 101, 102, 103, 104, 105, 106});
  CHECK(sample(FrameSampler::Last, 10, 300) ==
        std::vector<int32_t>{290, 291, 292, 293, 294, 295, 296, 297, 298, 299});
  // The reader keeps the first 300 frames, so "last" of a 450-frame video ends at frame 299.
  CHECK(sample(FrameSampler::Last, 10, 450) ==
        std::vector<int32_t>{290, 291, 292, 293, 294, 295, 296, 297, 298, 299});
  // start = floor((107 - 10) / 2) = 48; floor((300 - 10) / 2) = 145; floor((11 - 10) / 2) = 0.
  CHECK(sample(FrameSampler::Middle, 10, 107) == std::vector<int32_t>{48, 49, 50, 51, 52, 53, 54, 55, 56, 57});
  CHECK(sample(FrameSampler::Middle, 10, 300) ==
        std::vector<int32_t>{145, 146, 147, 148, 149, 150, 151, 152, 153, 154});
  CHECK(sample(FrameSampler::Middle, 10, 450) ==
        std::vector<int32_t>{145, 146, 147, 148, 149, 150, 151, 152, 153, 154});
  CHECK(sample(FrameSampler::Middle, 10, 11) == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(sample(FrameSampler::Middle, 1, 4) == std::vector<int32_t>{1});  // floor(3 / 2)
}

TEST_CASE("first-middle-last: k/3 first, k/3 last, the rest centred", "[data][sampler]") {
  // k = 10: a = c = 3, b = 4.
  CHECK(sample(FrameSampler::FirstMiddleLast, 10, 1) == std::vector<int32_t>{0});
  CHECK(sample(FrameSampler::FirstMiddleLast, 10, 7) == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6});
  // N = k: s = (10 - 4) / 2 = 3, the runs touch: 0-2, 3-6, 7-9.
  CHECK(sample(FrameSampler::FirstMiddleLast, 10, 10) == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  // s = floor(103 / 2) = 51.
  CHECK(sample(FrameSampler::FirstMiddleLast, 10, 107) ==
        std::vector<int32_t>{0, 1, 2, 51, 52, 53, 54, 104, 105, 106});
  // s = 296 / 2 = 148.
  const std::vector<int32_t> at300{0, 1, 2, 148, 149, 150, 151, 297, 298, 299};
  CHECK(sample(FrameSampler::FirstMiddleLast, 10, 300) == at300);
  CHECK(sample(FrameSampler::FirstMiddleLast, 10, 450) == at300);
  // k = 11: a = c = 3, b = 5; N = 11 fills exactly; N = 12: s = floor(7 / 2) = 3.
  CHECK(sample(FrameSampler::FirstMiddleLast, 11, 11) == run(0, 11));
  CHECK(sample(FrameSampler::FirstMiddleLast, 11, 12) == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11});
  // k = 2: a = c = 0, two middle frames, s = (9 - 2) / 2 = 3; k = 1: the middle frame.
  CHECK(sample(FrameSampler::FirstMiddleLast, 2, 9) == std::vector<int32_t>{3, 4});
  CHECK(sample(FrameSampler::FirstMiddleLast, 1, 9) == std::vector<int32_t>{4});
  // k = 5: a = c = 1, b = 3, N = 5 and N = 6 (s = floor(3 / 2) = 1).
  CHECK(sample(FrameSampler::FirstMiddleLast, 5, 5) == std::vector<int32_t>{0, 1, 2, 3, 4});
  CHECK(sample(FrameSampler::FirstMiddleLast, 5, 6) == std::vector<int32_t>{0, 1, 2, 3, 5});
}

TEST_CASE("first-middle-last runs never overlap when N >= k", "[data][sampler]") {
  for (int64_t k = 1; k <= 40; ++k)
    for (int64_t n = k; n <= k + 60; ++n) {
      const int64_t a = k / 3, b = k - 2 * a, s = (n - b) / 2;
      INFO("k " << k << " N " << n);
      REQUIRE(a <= s);
      REQUIRE(s + b <= n - a);
      auto indices = sample(FrameSampler::FirstMiddleLast, k, n);
      REQUIRE(int64_t(indices.size()) == k);
      REQUIRE(std::set<int32_t>(indices.begin(), indices.end()).size() == size_t(k));
    }
}

TEST_CASE("random: fewer frames than k gives them all", "[data][sampler]") {
  CHECK(sample(FrameSampler::Random, 10, 1) == std::vector<int32_t>{0});
  CHECK(sample(FrameSampler::Random, 10, 7) == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6});
  CHECK(sample(FrameSampler::Random, 10, 10) == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST_CASE("random: reproducible per (seed, video), different across videos, within the cap", "[data][sampler]") {
  auto first = sample(FrameSampler::Random, 10, 107, 300, 5, 1000);
  CHECK(first == sample(FrameSampler::Random, 10, 107, 300, 5, 1000));
  CHECK(first != sample(FrameSampler::Random, 10, 107, 300, 5, 1001));
  CHECK(first != sample(FrameSampler::Random, 10, 107, 300, 6, 1000));
  for (uint64_t video = 0; video < 200; ++video) {
    auto capped = sample(FrameSampler::Random, 10, 450, 300, 5, video);
    REQUIRE(capped.size() == 10);
    REQUIRE(capped.back() < 300);
  }
  CHECK(random_sampler_key(5, 0) != 5);  // video key 0 still mixes
}

TEST_CASE("random: every frame equally likely, every pair too", "[data][sampler]") {
  // 20,000 draws of k = 10 from N = 50: each frame is chosen with probability 1/5, expected 4,000 times
  // with standard deviation sqrt(20000 * 0.2 * 0.8) = 56.6; a pair (0, 1) with probability
  // (10 * 9) / (50 * 49), expected 734.7 times, sd 26.
  const int64_t draws = 20000, n = 50, k = 10;
  std::vector<int64_t> hits(size_t(n), 0);
  int64_t pair_hits = 0;
  std::vector<int32_t> indices;
  for (int64_t video = 0; video < draws; ++video) {
    sample_frames(SamplerSpec{FrameSampler::Random, k, 300}, n, 99, uint64_t(video), indices);
    for (int32_t index : indices) ++hits[size_t(index)];
    if (indices[0] == 0 && indices[1] == 1) ++pair_hits;
  }
  double chi_square = 0.0;
  for (int64_t count : hits) chi_square += (count - 4000.0) * (count - 4000.0) / 4000.0;
  // Each count has variance 3,200 (not 4,000), so the statistic is about 0.8 * chi-square(49): mean 39,
  // 99.9th percentile 0.8 * 85.4 = 68.
  CHECK(chi_square < 68.0);
  for (int64_t count : hits) CHECK(std::abs(count - 4000) < 300);  // 5.3 sd
  CHECK(std::abs(pair_hits - 734.7) < 5 * 26.0);
}

TEST_CASE("every sampler: sorted, distinct, in range, the expected count", "[data][sampler]") {
  for (FrameSampler kind : kAllSamplers)
    for (int64_t max_frames : {1, 7, 50, 300})
      for (int64_t k : {1, 2, 3, 5, 10, 16, 64, 300, 301})
        for (int64_t n : {0, 1, 2, 3, 6, 9, 10, 11, 49, 50, 51, 107, 299, 300, 301, 450}) {
          INFO(frame_sampler_name(kind) << " k " << k << " N " << n << " max_frames " << max_frames);
          auto indices = sample(kind, k, n, max_frames, 3, uint64_t(n * 1000 + k));
          const int64_t capped = std::min(n, max_frames);
          REQUIRE(std::is_sorted(indices.begin(), indices.end()));
          REQUIRE(std::adjacent_find(indices.begin(), indices.end()) == indices.end());
          for (int32_t index : indices) REQUIRE((index >= 0 && index < capped));
          if (kind == FrameSampler::All) {
            REQUIRE(int64_t(indices.size()) == capped);
          } else if (kind == FrameSampler::Stride) {
            const int64_t step = std::max<int64_t>(1, max_frames / k);
            REQUIRE(int64_t(indices.size()) == std::min(k, (capped + step - 1) / step));
          } else {
            REQUIRE(int64_t(indices.size()) == std::min(k, capped));
          }
        }
}

TEST_CASE("sample_frames reuses the vector's storage", "[data][sampler]") {
  std::vector<int32_t> indices;
  indices.reserve(300);
  const int32_t* storage = indices.data();
  for (FrameSampler kind : kAllSamplers) {
    sample_frames(SamplerSpec{kind, 10, 300}, 450, 1, 2, indices);
    CHECK(indices.data() == storage);
    CHECK(indices.capacity() == 300);
  }
}

TEST_CASE("sample_frames rejects bad arguments with the sampler's name", "[data][sampler]") {
  std::vector<int32_t> indices;
  CHECK_THROWS_WITH(sample_frames(SamplerSpec{FrameSampler::Uniform, 0, 300}, 10, 0, 0, indices),
                    Catch::Contains("uniform") && Catch::Contains("k 0"));
  CHECK_THROWS_AS(sample_frames(SamplerSpec{FrameSampler::Random, 10, 0}, 10, 0, 0, indices), std::invalid_argument);
  CHECK_THROWS_AS(sample_frames(SamplerSpec{FrameSampler::First, 10, 300}, -1, 0, 0, indices), std::invalid_argument);
  CHECK_NOTHROW(sample_frames(SamplerSpec{FrameSampler::All, 0, 300}, 10, 0, 0, indices));
}

}  // namespace ff::data
