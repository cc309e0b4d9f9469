// The synthetic YouTube-8M model: determinism, label and length statistics, class frequencies, the
// starter code's quantiser, and the temporal structure that makes reading fewer frames lose evidence.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <set>

#include "data/frame_sampler.h"
#include "data/quantize.h"
#include "data/synthetic_video.h"
#include "kernels/dequantize.h"

namespace ff::data {

namespace {

// Full-size features, few classes: the temporal checks.
SyntheticVideoConfig full_config(uint64_t seed = 42) {
  SyntheticVideoConfig config;
  config.num_classes = 100;
  config.seed = seed;
  return config;
}

// Tiny features: label and length statistics over thousands of videos (labels, frame counts and segments
// come from their own streams, so the feature sizes do not change them).
SyntheticVideoConfig label_config(uint64_t seed = 42) {
  SyntheticVideoConfig config = full_config(seed);
  config.rgb_size = 4;
  config.audio_size = 2;
  return config;
}

bool same_video(const SyntheticVideo& a, const SyntheticVideo& b) {
  auto same_floats = [](const std::vector<float>& x, const std::vector<float>& y) {
    return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
  };
  return a.id == b.id && a.labels == b.labels && a.num_frames == b.num_frames && a.rgb == b.rgb &&
         a.audio == b.audio && same_floats(a.mean_rgb, b.mean_rgb) && same_floats(a.mean_audio, b.mean_audio);
}

// Ranks with ties averaged, for a Spearman correlation.
std::vector<double> ranks(const std::vector<double>& values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> result(values.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
    for (size_t m = i; m <= j; ++m) result[order[m]] = 0.5 * double(i + j);
    i = j + 1;
  }
  return result;
}

double correlation(const std::vector<double>& x, const std::vector<double>& y) {
  double mx = std::accumulate(x.begin(), x.end(), 0.0) / double(x.size());
  double my = std::accumulate(y.begin(), y.end(), 0.0) / double(y.size());
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return sxy / std::sqrt(sxx * syy);
}

// Projection of dequantised frame t on a direction of RMS 1, in per-dimension units: a frame holding
// strength * direction projects to about strength.
double projection(const std::vector<uint8_t>& frames, int64_t size, int64_t t, const std::vector<float>& direction) {
  double sum = 0.0;
  for (int64_t d = 0; d < size; ++d) sum += double(dequantize_value(frames[size_t(t * size + d)])) * direction[size_t(d)];
  return sum / double(size);
}

}  // namespace

TEST_CASE("quantize matches the starter code's quantiser", "[data][synthetic][quantize]") {
  CHECK(quantize_value(-2.0f) == 0);
  CHECK(quantize_value(2.0f) == 255);
  CHECK(quantize_value(0.0f) == 128);  // 127.5: half to even gives 128 (so would half away from zero)
  CHECK(quantize_value(-3.0f) == 0);   // clipped
  CHECK(quantize_value(7.5f) == 255);
  CHECK(quantize_value(-std::numeric_limits<float>::infinity()) == 0);
  CHECK(quantize_value(std::numeric_limits<float>::infinity()) == 255);
  CHECK(quantize_value(-1.9921875f) == 0);  // 0.0078125 * 63.75 = 0.498
  CHECK(quantize_value(1e-3f) == 128);      // 127.56
  CHECK(quantize_value(-1e-3f) == 127);     // 127.44
  // float32 inputs whose (x + 2) * 63.75 in float32 is exactly n + 0.5 (found with numpy): Python 3's
  // round(numpy.float32) goes to the even neighbour, so 64.5 -> 64 and 65.5 -> 66.
  CHECK(quantize_value(-0.98823524f) == 64);
  CHECK(quantize_value(-0.97254896f) == 66);
  CHECK(quantize_value(-0.9568627f) == 66);
  CHECK(quantize_value(-0.9411764f) == 68);

  float values[3] = {0.0f, std::nanf(""), 1.0f};
  uint8_t q[3];
  CHECK_THROWS_WITH(quantize(values, q, 3, "rgb"), Catch::Contains("NaN in rgb at position 1"));
}

TEST_CASE("dequantize(quantize(x)) stays within half a step plus the starter's bias", "[data][synthetic][quantize]") {
  const double bound = 4.0 / 255.0 / 2.0 + 4.0 / 512.0;
  double worst = 0.0;
  for (int i = 0; i <= 400000; ++i) {
    float x = -2.0f + 4.0f * float(i) / 400000.0f;
    worst = std::max(worst, std::abs(double(dequantize_value(quantize_value(x))) - double(x)));
  }
  // The bound is reached where rounding up (half a step) and the +4/512 bias add up; float32 arithmetic
  // near 2 (ulp 2.4e-7) may overshoot it by a few ulps.
  CHECK(worst <= bound + 1e-6);
  CHECK(worst > bound - 1e-6);
  // Every byte is a fixed point of quantise(dequantise(.)) except where the +4/512 bias pushes the value
  // past a half step (it never does: 4/512 < 2/255).
  for (int byte = 0; byte < 256; ++byte) CHECK(quantize_value(dequantize_value(uint8_t(byte))) == byte);
}

TEST_CASE("class frequency helpers", "[data][synthetic]") {
  // 10^6 / ((r + 6) / 6)^1.3: r = 0 -> 10^6; r = 6 -> 10^6 / 2^1.3 = 406126.2; r = 18 -> 10^6 / 4^1.3 = 164938.5.
  auto zipf = zipf_class_counts(20);
  CHECK(zipf[0] == 1000000);
  CHECK(zipf[6] == 406126);
  CHECK(zipf[18] == 164938);
  CHECK(std::is_sorted(zipf.rbegin(), zipf.rend()));
  // Sorted descending 9 7 5 3 2 1 (M = 6): 3 classes take ranks 0, 2, 4; 4 classes ranks 0, 1, 3, 4.
  const std::vector<int64_t> counts{5, 1, 9, 3, 7, 2};
  CHECK(resample_class_counts(counts, 3) == std::vector<int64_t>{9, 5, 2});
  CHECK(resample_class_counts(counts, 4) == std::vector<int64_t>{9, 7, 3, 2});
  CHECK(resample_class_counts(counts, 6) == std::vector<int64_t>{9, 7, 5, 3, 2, 1});
  CHECK_THROWS_AS(resample_class_counts(counts, 7), std::invalid_argument);

  SyntheticVideoConfig config = label_config();
  config.num_classes = 4;
  config.class_counts = {5, 1, 9, 3};  // as many as classes: used as given, in class order
  CHECK(SyntheticVideoGenerator(config).class_counts() == std::vector<int64_t>{5, 1, 9, 3});
  config.class_counts = counts;  // more: resampled by rank
  CHECK(SyntheticVideoGenerator(config).class_counts() == std::vector<int64_t>{9, 7, 3, 2});
  config.class_counts = {5, 1};
  CHECK_THROWS_WITH(SyntheticVideoGenerator(config), Catch::Contains("class_counts"));
  config.class_counts = {5, 0, 9, 3};
  CHECK_THROWS_WITH(SyntheticVideoGenerator(config), Catch::Contains("class 1"));
}

TEST_CASE("synthetic config validation names the field", "[data][synthetic]") {
  auto rejects = [](auto change, const char* field) {
    SyntheticVideoConfig config = label_config();
    change(config);
    CHECK_THROWS_WITH(SyntheticVideoGenerator(config), Catch::Contains(field));
  };
  rejects([](SyntheticVideoConfig& c) { c.num_classes = 0; }, "num_classes");
  rejects([](SyntheticVideoConfig& c) { c.min_frames = 301; }, "min_frames");
  rejects([](SyntheticVideoConfig& c) { c.mean_labels = 0.5; }, "mean_labels");
  rejects([](SyntheticVideoConfig& c) { c.max_segments = 0; }, "min_segments");
  rejects([](SyntheticVideoConfig& c) { c.min_segment_frames = 0; }, "min_segment_frames");
  rejects([](SyntheticVideoConfig& c) { c.noise = -1.0f; }, "noise");
  rejects([](SyntheticVideoConfig& c) { c.signal_strength = std::nanf(""); }, "signal_strength");
}

TEST_CASE("video ids: 4 alphanumeric characters, one per index", "[data][synthetic]") {
  std::set<std::string> ids;
  for (uint64_t index = 0; index < 200000; ++index) {
    std::string id = synthetic_video_id(3, index);
    REQUIRE(id.size() == 4);
    for (char ch : id) REQUIRE(std::isalnum(static_cast<unsigned char>(ch)));
    ids.insert(id);
  }
  CHECK(ids.size() == 200000);
  CHECK(synthetic_video_id(3, 0) != synthetic_video_id(4, 0));
  CHECK_NOTHROW(synthetic_video_id(3, SyntheticVideoGenerator::kMaxVideos - 1));
  CHECK_THROWS_AS(synthetic_video_id(3, SyntheticVideoGenerator::kMaxVideos), std::invalid_argument);
}

TEST_CASE("the same seed and index give byte-identical videos, in any order", "[data][synthetic]") {
  const SyntheticVideoGenerator generator(full_config());
  const SyntheticVideo five = generator.generate(5);
  SyntheticVideo reused = generator.generate(9);  // fill the buffers with another video first
  generator.generate(5, reused);
  CHECK(same_video(five, reused));
  CHECK(same_video(five, SyntheticVideoGenerator(full_config()).generate(5)));
  CHECK_FALSE(same_video(five, generator.generate(6)));
  CHECK(five.id != generator.generate(6).id);
  const SyntheticVideo other_seed = SyntheticVideoGenerator(full_config(43)).generate(5);
  CHECK(other_seed.rgb != five.rgb);

  REQUIRE(five.rgb.size() == size_t(five.num_frames * 1024));
  REQUIRE(five.audio.size() == size_t(five.num_frames * 128));
  REQUIRE(five.mean_rgb.size() == 1024);
  REQUIRE(five.mean_audio.size() == 128);
}

TEST_CASE("video-level means are the means of the dequantised frames", "[data][synthetic]") {
  const SyntheticVideoGenerator generator(full_config());
  for (uint64_t index : {0, 1, 77}) {
    const SyntheticVideo video = generator.generate(index);
    for (auto [frames, means, size] : {std::tuple{&video.rgb, &video.mean_rgb, int64_t(1024)},
                                       std::tuple{&video.audio, &video.mean_audio, int64_t(128)}}) {
      for (int64_t d = 0; d < size; ++d) {
        double sum = 0.0;
        for (int64_t t = 0; t < video.num_frames; ++t) sum += dequantize_value((*frames)[size_t(t * size + d)]);
        REQUIRE(double((*means)[size_t(d)]) == Approx(sum / double(video.num_frames)).margin(1e-6));
      }
    }
  }
}

TEST_CASE("labels, label counts and frame counts follow the config", "[data][synthetic]") {
  const SyntheticVideoGenerator generator(label_config());
  const int64_t videos = 2000;
  int64_t total_labels = 0, min_frames = 1000, max_frames = 0;
  std::set<int64_t> lengths;
  SyntheticVideo video;
  for (int64_t index = 0; index < videos; ++index) {
    generator.generate(uint64_t(index), video);
    REQUIRE(!video.labels.empty());
    REQUIRE(std::is_sorted(video.labels.begin(), video.labels.end()));
    REQUIRE(std::adjacent_find(video.labels.begin(), video.labels.end()) == video.labels.end());
    REQUIRE(video.labels.front() >= 0);
    REQUIRE(video.labels.back() < 100);
    REQUIRE((video.num_frames >= 60 && video.num_frames <= 300));
    total_labels += int64_t(video.labels.size());
    min_frames = std::min(min_frames, video.num_frames);
    max_frames = std::max(max_frames, video.num_frames);
    lengths.insert(video.num_frames);
    for (const SyntheticSegment& segment : video.segments) {
      REQUIRE((segment.first_frame >= 0 && segment.first_frame < segment.end_frame &&
               segment.end_frame <= video.num_frames));
      REQUIRE(segment.is_label == std::binary_search(video.labels.begin(), video.labels.end(), segment.class_index));
    }
  }
  const double mean_labels = double(total_labels) / double(videos);
  CHECK((mean_labels >= 2.5 && mean_labels <= 3.5));
  CHECK(min_frames <= 65);
  CHECK(max_frames >= 295);
  CHECK(lengths.size() > 200);  // 241 possible lengths
}

TEST_CASE("frequent classes are drawn far more often than rare ones", "[data][synthetic]") {
  const SyntheticVideoGenerator generator(label_config());
  std::vector<double> observed(100, 0.0);
  SyntheticVideo video;
  for (uint64_t index = 0; index < 4000; ++index) {
    generator.generate(index, video);
    for (int32_t label : video.labels) observed[size_t(label)] += 1.0;
  }
  double top = 0.0, bottom = 0.0;
  for (int c = 0; c < 10; ++c) top += observed[size_t(c)];
  for (int c = 90; c < 100; ++c) bottom += observed[size_t(c)];
  INFO("top decile " << top << ", bottom decile " << bottom);
  CHECK(top > 8.0 * bottom);
  CHECK(bottom > 0.0);  // rare, not absent
  std::vector<double> expected(generator.class_probabilities().begin(), generator.class_probabilities().end());
  CHECK(correlation(ranks(expected), ranks(observed)) > 0.9);

  // A flat distribution with one heavy class: the heavy class shows in most videos.
  SyntheticVideoConfig config = label_config();
  config.class_counts.assign(100, 10);
  config.class_counts[37] = 5000;
  const SyntheticVideoGenerator skewed(config);
  int64_t with_heavy = 0;
  for (uint64_t index = 0; index < 500; ++index) {
    skewed.generate(index, video);
    with_heavy += std::binary_search(video.labels.begin(), video.labels.end(), 37);
  }
  CHECK(with_heavy > 400);
}

TEST_CASE("without noise, frames outside every segment carry nothing", "[data][synthetic]") {
  SyntheticVideoConfig config = full_config();
  config.noise = 0.0f;
  config.background = 0.0f;
  const SyntheticVideoGenerator generator(config);
  for (uint64_t index = 0; index < 4; ++index) {
    const SyntheticVideo video = generator.generate(index);
    std::vector<bool> covered(size_t(video.num_frames), false);
    for (const SyntheticSegment& segment : video.segments)
      for (int32_t t = segment.first_frame; t < segment.end_frame; ++t) covered[size_t(t)] = true;
    for (int64_t t = 0; t < video.num_frames; ++t) {
      const auto first = video.rgb.begin() + t * 1024, last = first + 1024;
      // quantize(0) = 128: a frame with no signal is all 128; a covered one is not.
      INFO("video " << index << " frame " << t);
      REQUIRE(std::all_of(first, last, [](uint8_t q) { return q == 128; }) == !covered[size_t(t)]);
    }
  }
}

TEST_CASE("a label's evidence is temporal: high on its prototype inside its segments only", "[data][synthetic]") {
  const SyntheticVideoGenerator generator(full_config());
  int64_t inside_frames = 0, inside_high = 0, outside_frames = 0, outside_high = 0, checked = 0;
  for (uint64_t index = 0; index < 8; ++index) {
    const SyntheticVideo video = generator.generate(index);
    for (int32_t label : video.labels) {
      const std::vector<float> prototype = generator.class_prototype(label, SyntheticFeature::Rgb);
      std::vector<bool> inside(size_t(video.num_frames), false);
      for (const SyntheticSegment& segment : video.segments)
        if (segment.class_index == label)
          for (int32_t t = segment.first_frame; t < segment.end_frame; ++t) inside[size_t(t)] = true;
      std::vector<double> inside_values, outside_values;
      for (int64_t t = 0; t < video.num_frames; ++t)
        (inside[size_t(t)] ? inside_values : outside_values).push_back(projection(video.rgb, 1024, t, prototype));
      REQUIRE(!inside_values.empty());
      REQUIRE(!outside_values.empty());
      const double inside_mean =
          std::accumulate(inside_values.begin(), inside_values.end(), 0.0) / double(inside_values.size());
      const double outside_mean =
          std::accumulate(outside_values.begin(), outside_values.end(), 0.0) / double(outside_values.size());
      INFO("video " << index << " label " << label << ": inside mean " << inside_mean << ", outside mean "
                    << outside_mean);
      // Signal 0.1 * [0.75, 1.25] * cos(direction, prototype) ~ 0.09; the noise on one frame's projection
      // is 0.5 / 32 = 0.016 and the background's, constant over the video, 0.3 / 32 = 0.009.
      CHECK(inside_mean - outside_mean > 0.05);
      // Frame by frame, against the midpoint: about 3 noise sd on either side.
      const double threshold = 0.5 * (inside_mean + outside_mean);
      for (double p : inside_values) inside_high += p > threshold;
      for (double p : outside_values) outside_high += p > threshold;
      inside_frames += int64_t(inside_values.size());
      outside_frames += int64_t(outside_values.size());
      ++checked;
    }
  }
  CHECK(checked >= 8);
  CHECK(double(inside_high) / double(inside_frames) > 0.95);
  CHECK(double(outside_high) / double(outside_frames) < 0.05);
}

TEST_CASE("k uniformly spaced frames miss label evidence that all frames see", "[data][synthetic]") {
  const SyntheticVideoGenerator generator(label_config());
  std::vector<int32_t> all_frames, uniform_frames;
  int64_t labels = 0, seen_by_all = 0, seen_by_uniform = 0, frames_by_all = 0, frames_by_uniform = 0;
  SyntheticVideo video;
  for (uint64_t index = 0; index < 1000; ++index) {
    generator.generate(index, video);
    sample_frames(SamplerSpec{FrameSampler::All, 0, 300}, video.num_frames, 0, index, all_frames);
    sample_frames(SamplerSpec{FrameSampler::Uniform, 10, 300}, video.num_frames, 0, index, uniform_frames);
    for (int32_t label : video.labels) {
      // Frames read that fall inside one of the label's segments.
      auto evidence = [&](const std::vector<int32_t>& frames) {
        int64_t count = 0;
        for (int32_t t : frames) {
          bool inside = false;
          for (const SyntheticSegment& segment : video.segments)
            inside |= segment.class_index == label && t >= segment.first_frame && t < segment.end_frame;
          count += inside;
        }
        return count;
      };
      ++labels;
      const int64_t by_all = evidence(all_frames), by_uniform = evidence(uniform_frames);
      seen_by_all += by_all > 0;
      seen_by_uniform += by_uniform > 0;
      frames_by_all += by_all;
      frames_by_uniform += by_uniform;
    }
  }
  const double all_fraction = double(seen_by_all) / double(labels);
  const double uniform_fraction = double(seen_by_uniform) / double(labels);
  INFO("labels with evidence in the frames read: all " << all_fraction << ", uniform-10 " << uniform_fraction);
  CHECK(all_fraction == 1.0);
  CHECK(uniform_fraction < 0.9);
  CHECK(uniform_fraction > 0.7);  // the student still sees most labels: there is something to learn
  // Where it does see a label, it sees a frame or two of the ~24 the teacher averages.
  INFO("evidence frames per label: all " << double(frames_by_all) / double(labels) << ", uniform-10 "
                                         << double(frames_by_uniform) / double(labels));
  CHECK(frames_by_all > 10 * frames_by_uniform);
}

}  // namespace ff::data
