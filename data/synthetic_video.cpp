#include "data/synthetic_video.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "data/quantize.h"
#include "kernels/dequantize.h"
#include "kernels/philox.h"

namespace ff::data {

namespace {

// What a stream is for: each purpose draws from its own Philox key, so adding draws to one purpose never
// shifts the numbers of another.
enum class Purpose : uint64_t {
  FrameCount = 1,
  LabelCount,
  LabelChoice,
  LabelSegments,
  Distractors,
  Background,
  Noise,
  Variation,
  Prototype,
  VideoId,
};

uint64_t mix64(uint64_t z) {  // splitmix64's finaliser: a bijection that scatters neighbouring inputs
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The key of the stream for (seed, purpose, subject, detail): subject is a video index or a class, detail
// separates the streams of one subject (the feature, the class a variation belongs to).
uint64_t stream_key(uint64_t seed, Purpose purpose, uint64_t subject, uint64_t detail = 0) {
  return mix64(mix64(mix64(seed ^ (uint64_t(purpose) << 56)) ^ subject) ^ detail);
}

// Sequential draws from one stream.
class Draws {
 public:
  explicit Draws(uint64_t key) : key_(key) {}
  uint32_t bits() { return philox::bits(key_, next_++); }
  // In (0, 1): never 0, so its logarithm is finite.
  double uniform_open() { return (double(bits()) + 0.5) * (1.0 / 4294967296.0); }
  // Uniform in [lo, hi] by multiply-shift on 32 bits (bias below (hi - lo + 1) / 2^32).
  int64_t integer(int64_t lo, int64_t hi) {
    return lo + int64_t((uint64_t(bits()) * uint64_t(hi - lo + 1)) >> 32);
  }
  // Poisson by inversion: fine for the small means used here.
  int64_t poisson(double mean) {
    double u = uniform_open(), probability = std::exp(-mean), cumulative = probability;
    int64_t count = 0;
    while (u > cumulative && count < 1000) {
      ++count;
      probability *= mean / double(count);
      cumulative += probability;
    }
    return count;
  }

 private:
  uint64_t key_;
  uint64_t next_ = 0;
};

// Standard normals, four from each Philox block by Box-Muller on its two pairs of lanes.
void fill_normals(uint64_t key, float* out, int64_t count) {
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  for (int64_t first = 0; first < count; first += 4) {
    philox::Block block = philox::generate(uint64_t(first / 4), key);
    double values[4];
    for (int pair = 0; pair < 2; ++pair) {
      double u1 = (double(block.v[2 * pair]) + 1.0) * (1.0 / 4294967296.0);  // (0, 1]
      double u2 = double(block.v[2 * pair + 1]) * (1.0 / 4294967296.0);
      double radius = std::sqrt(-2.0 * std::log(u1));
      values[2 * pair] = radius * std::cos(kTwoPi * u2);
      values[2 * pair + 1] = radius * std::sin(kTwoPi * u2);
    }
    for (int64_t i = first; i < std::min(count, first + 4); ++i) out[i] = float(values[i - first]);
  }
}

// Per-frame noise: hundreds of thousands of values per video, so speed matters more than an exact
// Gaussian. Each value is the sum of four 16-bit uniforms from one SplitMix64 output (Irwin-Hall: mean 0,
// variance 1, within +-3.46), integer arithmetic only, so it is identical on every machine; about 20x
// cheaper than Box-Muller through log, sin and cos.
void fill_noise(uint64_t key, float* out, int64_t count) {
  constexpr double kMean = 4 * 65535 / 2.0;
  const float scale = float(1.0 / std::sqrt(4 * (65536.0 * 65536.0 - 1) / 12.0));
  for (int64_t i = 0; i < count; ++i) {
    uint64_t z = key + uint64_t(i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    int64_t sum = int64_t(z & 0xFFFF) + int64_t((z >> 16) & 0xFFFF) + int64_t((z >> 32) & 0xFFFF) + int64_t(z >> 48);
    out[i] = float(double(sum) - kMean) * scale;
  }
}

// Scales a vector to root-mean-square 1 (a zero vector stays zero).
void normalize_rms(float* values, int64_t n) {
  double sum_squares = 0.0;
  for (int64_t i = 0; i < n; ++i) sum_squares += double(values[i]) * values[i];
  if (sum_squares == 0.0) return;
  float scale = float(std::sqrt(double(n) / sum_squares));
  for (int64_t i = 0; i < n; ++i) values[i] *= scale;
}

void require(bool condition, const std::string& message) {
  if (!condition) throw std::invalid_argument("SyntheticVideoConfig: " + message);
}

void validate(const SyntheticVideoConfig& c) {
  require(c.num_classes >= 1, "num_classes " + std::to_string(c.num_classes) + " must be at least 1");
  require(c.rgb_size >= 1 && c.audio_size >= 1, "rgb_size " + std::to_string(c.rgb_size) + " and audio_size " +
                                                     std::to_string(c.audio_size) + " must be at least 1");
  require(c.min_frames >= 1 && c.min_frames <= c.max_frames,
          "need 1 <= min_frames <= max_frames, got " + std::to_string(c.min_frames) + " and " +
              std::to_string(c.max_frames));
  require(c.max_frames <= (int64_t(1) << 24), "max_frames " + std::to_string(c.max_frames) + " is too large");
  require(std::isfinite(c.mean_labels) && c.mean_labels >= 1.0 && c.mean_labels <= 100.0,
          "mean_labels " + std::to_string(c.mean_labels) + " must be in [1, 100]");
  require(c.max_labels >= 1, "max_labels " + std::to_string(c.max_labels) + " must be at least 1");
  require(c.min_segments >= 1 && c.min_segments <= c.max_segments,
          "need 1 <= min_segments <= max_segments, got " + std::to_string(c.min_segments) + " and " +
              std::to_string(c.max_segments));
  require(c.min_segment_frames >= 1 && c.min_segment_frames <= c.max_segment_frames,
          "need 1 <= min_segment_frames <= max_segment_frames, got " + std::to_string(c.min_segment_frames) +
              " and " + std::to_string(c.max_segment_frames));
  require(std::isfinite(c.mean_distractors) && c.mean_distractors >= 0.0 && c.mean_distractors <= 100.0,
          "mean_distractors " + std::to_string(c.mean_distractors) + " must be in [0, 100]");
  for (auto [name, value] : {std::pair{"signal_strength", c.signal_strength},
                             {"prototype_variation", c.prototype_variation},
                             {"distractor_strength", c.distractor_strength},
                             {"background", c.background},
                             {"noise", c.noise}})
    require(std::isfinite(value) && value >= 0.0f, std::string(name) + " " + std::to_string(value) +
                                                        " must be finite and non-negative");
  require(std::isfinite(c.strength_spread) && c.strength_spread >= 0.0f && c.strength_spread <= 2.0f,
          "strength_spread " + std::to_string(c.strength_spread) + " must be in [0, 2]");
}

}  // namespace

std::vector<int64_t> zipf_class_counts(int64_t num_classes) {
  if (num_classes < 1) throw std::invalid_argument("zipf_class_counts: num_classes must be at least 1");
  std::vector<int64_t> counts(static_cast<size_t>(num_classes));
  for (int64_t rank = 0; rank < num_classes; ++rank)
    counts[size_t(rank)] = std::max<int64_t>(1, std::llround(1e6 / std::pow((rank + 6.0) / 6.0, 1.3)));
  return counts;
}

std::vector<int64_t> resample_class_counts(const std::vector<int64_t>& counts, int64_t num_classes) {
  const int64_t available = int64_t(counts.size());
  if (num_classes < 1 || num_classes > available)
    throw std::invalid_argument("resample_class_counts: num_classes " + std::to_string(num_classes) +
                                " must be in [1, " + std::to_string(available) + "]");
  std::vector<int64_t> sorted = counts;
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  std::vector<int64_t> resampled(static_cast<size_t>(num_classes));
  for (int64_t c = 0; c < num_classes; ++c) resampled[size_t(c)] = sorted[size_t(c * available / num_classes)];
  return resampled;
}

std::string synthetic_video_id(uint64_t seed, uint64_t video_index) {
  constexpr uint64_t kIds = SyntheticVideoGenerator::kMaxVideos;
  // Coprime with 62^4 = 2^4 * 31^4, so index -> index * kStep + offset (mod 62^4) is a bijection.
  constexpr uint64_t kStep = 9576373;
  static_assert(kStep % 2 == 1 && kStep % 31 != 0);
  if (video_index >= kIds)
    throw std::invalid_argument("synthetic_video_id: video index " + std::to_string(video_index) +
                                " is past the " + std::to_string(kIds) + " distinct 4-character ids");
  static constexpr char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  uint64_t value = (video_index * kStep + stream_key(seed, Purpose::VideoId, 0) % kIds) % kIds;
  std::string id(4, '0');
  for (int position = 3; position >= 0; --position, value /= 62) id[size_t(position)] = kDigits[value % 62];
  return id;
}

SyntheticVideoGenerator::SyntheticVideoGenerator(SyntheticVideoConfig config) : config_(std::move(config)) {
  validate(config_);
  const int64_t given = int64_t(config_.class_counts.size());
  if (given == 0) {
    class_counts_ = zipf_class_counts(config_.num_classes);
  } else if (given == config_.num_classes) {
    class_counts_ = config_.class_counts;
  } else if (given > config_.num_classes) {
    class_counts_ = resample_class_counts(config_.class_counts, config_.num_classes);
  } else {
    throw std::invalid_argument("SyntheticVideoConfig: class_counts has " + std::to_string(given) +
                                " entries, fewer than num_classes " + std::to_string(config_.num_classes));
  }
  double total = 0.0;
  for (size_t c = 0; c < class_counts_.size(); ++c) {
    if (class_counts_[c] < 1)
      throw std::invalid_argument("SyntheticVideoConfig: class count " + std::to_string(class_counts_[c]) +
                                  " of class " + std::to_string(c) + " must be at least 1");
    total += double(class_counts_[c]);
  }
  class_probabilities_.resize(class_counts_.size());
  class_cumulative_.resize(class_counts_.size());
  double running = 0.0;
  for (size_t c = 0; c < class_counts_.size(); ++c) {
    class_probabilities_[c] = double(class_counts_[c]) / total;
    running += class_probabilities_[c];
    class_cumulative_[c] = running;
  }
  class_cumulative_.back() = 1.0;
}

std::vector<float> SyntheticVideoGenerator::class_prototype(int64_t class_index, SyntheticFeature feature) const {
  if (class_index < 0 || class_index >= config_.num_classes)
    throw std::invalid_argument("class_prototype: class " + std::to_string(class_index) + " is outside [0, " +
                                std::to_string(config_.num_classes) + ")");
  const int64_t size = feature == SyntheticFeature::Rgb ? config_.rgb_size : config_.audio_size;
  std::vector<float> prototype(static_cast<size_t>(size));
  fill_normals(stream_key(config_.seed, Purpose::Prototype, uint64_t(class_index), uint64_t(feature)),
               prototype.data(), size);
  normalize_rms(prototype.data(), size);
  return prototype;
}

SyntheticVideo SyntheticVideoGenerator::generate(uint64_t video_index) const {
  SyntheticVideo video;
  generate(video_index, video);
  return video;
}

void SyntheticVideoGenerator::generate(uint64_t video_index, SyntheticVideo& video) const {
  const SyntheticVideoConfig& c = config_;
  const uint64_t seed = c.seed;
  video.id = synthetic_video_id(seed, video_index);

  Draws frame_draws(stream_key(seed, Purpose::FrameCount, video_index));
  const int64_t num_frames = frame_draws.integer(c.min_frames, c.max_frames);
  video.num_frames = num_frames;

  // Labels: weighted sampling without replacement by Efraimidis-Spirakis keys log(u) / p, whose top L
  // classes are distributed as L successive draws proportional to frequency, each excluding those before.
  Draws count_draws(stream_key(seed, Purpose::LabelCount, video_index));
  const int64_t num_labels =
      std::min({1 + count_draws.poisson(c.mean_labels - 1.0), c.max_labels, c.num_classes});
  Draws choice_draws(stream_key(seed, Purpose::LabelChoice, video_index));
  std::vector<std::pair<double, int32_t>> keys(size_t(c.num_classes));
  for (int64_t cls = 0; cls < c.num_classes; ++cls)
    keys[size_t(cls)] = {std::log(choice_draws.uniform_open()) / class_probabilities_[size_t(cls)], int32_t(cls)};
  std::partial_sort(keys.begin(), keys.begin() + num_labels, keys.end(), std::greater<>());
  video.labels.clear();
  for (int64_t i = 0; i < num_labels; ++i) video.labels.push_back(keys[size_t(i)].second);
  std::sort(video.labels.begin(), video.labels.end());

  // Where each label shows, then the distractors.
  video.segments.clear();
  Draws segment_draws(stream_key(seed, Purpose::LabelSegments, video_index));
  auto add_segment = [&](Draws& draws, int32_t cls, float strength, bool is_label) {
    int64_t length = std::min(num_frames, draws.integer(c.min_segment_frames, c.max_segment_frames));
    int64_t first = draws.integer(0, num_frames - length);
    video.segments.push_back({cls, int32_t(first), int32_t(first + length), strength, is_label});
  };
  for (int32_t label : video.labels) {
    const float half_spread = 0.5f * c.strength_spread;
    const float strength =
        c.signal_strength * (1.0f - half_spread + 2.0f * half_spread * float(segment_draws.uniform_open()));
    const int64_t count = segment_draws.integer(c.min_segments, c.max_segments);
    for (int64_t s = 0; s < count; ++s) add_segment(segment_draws, label, strength, true);
  }
  Draws distractor_draws(stream_key(seed, Purpose::Distractors, video_index));
  const int64_t num_distractors = distractor_draws.poisson(c.mean_distractors);
  for (int64_t d = 0; d < num_distractors; ++d) {
    // A class by frequency; a label of the video is drawn again (a few tries, then the distractor is dropped).
    for (int attempt = 0; attempt < 8; ++attempt) {
      double u = distractor_draws.uniform_open();
      auto cls = int32_t(std::lower_bound(class_cumulative_.begin(), class_cumulative_.end(), u) -
                         class_cumulative_.begin());
      if (std::binary_search(video.labels.begin(), video.labels.end(), cls)) continue;
      add_segment(distractor_draws, cls, c.signal_strength * c.distractor_strength, false);
      break;
    }
  }

  // The frames of each feature: background + noise + the segments' signals, quantised, then averaged.
  std::vector<float> frames, direction, variation;
  for (SyntheticFeature feature : {SyntheticFeature::Rgb, SyntheticFeature::Audio}) {
    const int64_t size = feature == SyntheticFeature::Rgb ? c.rgb_size : c.audio_size;
    const uint64_t detail = uint64_t(feature);
    frames.resize(size_t(num_frames * size));
    fill_noise(stream_key(seed, Purpose::Noise, video_index, detail), frames.data(), num_frames * size);
    std::vector<float> background(static_cast<size_t>(size));
    fill_normals(stream_key(seed, Purpose::Background, video_index, detail), background.data(), size);
    for (int64_t t = 0; t < num_frames; ++t)
      for (int64_t d = 0; d < size; ++d)
        frames[size_t(t * size + d)] = c.noise * frames[size_t(t * size + d)] + c.background * background[size_t(d)];

    for (const SyntheticSegment& segment : video.segments) {
      // One direction per (video, class): every segment of a class in a video shares it.
      direction = class_prototype(segment.class_index, feature);
      variation.resize(size_t(size));
      fill_normals(stream_key(seed, Purpose::Variation, video_index, detail * (uint64_t(1) << 32) +
                                                                         uint64_t(segment.class_index)),
                   variation.data(), size);
      for (int64_t d = 0; d < size; ++d) direction[size_t(d)] += c.prototype_variation * variation[size_t(d)];
      normalize_rms(direction.data(), size);
      for (int64_t t = segment.first_frame; t < segment.end_frame; ++t)
        for (int64_t d = 0; d < size; ++d) frames[size_t(t * size + d)] += segment.strength * direction[size_t(d)];
    }

    std::vector<uint8_t>& quantized = feature == SyntheticFeature::Rgb ? video.rgb : video.audio;
    std::vector<float>& mean = feature == SyntheticFeature::Rgb ? video.mean_rgb : video.mean_audio;
    quantized.resize(frames.size());
    quantize(frames.data(), quantized.data(), int64_t(frames.size()), "synthetic frames");
    std::vector<double> sums(size_t(size), 0.0);
    for (int64_t t = 0; t < num_frames; ++t)
      for (int64_t d = 0; d < size; ++d) sums[size_t(d)] += double(dequantize_value(quantized[size_t(t * size + d)]));
    mean.resize(size_t(size));
    for (int64_t d = 0; d < size; ++d) mean[size_t(d)] = float(sums[size_t(d)] / double(num_frames));
  }
}

}  // namespace ff::data
