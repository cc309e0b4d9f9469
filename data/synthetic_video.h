// A generative model of YouTube-8M-like videos whose labels live in short stretches of time, so that a
// model reading every frame can find evidence a model reading k frames often misses (docs/synthetic_data.md).
//
// Each class has a fixed prototype direction per feature (rgb, audio). A video gets ~3 labels drawn by class
// frequency; each label shows in 1-3 segments of 5-20 frames, where the frames add strength * (the class
// prototype, varied per video); outside its segments a label adds nothing. Distractor segments of non-label
// classes add a weaker signal, and every frame carries a per-video constant background and per-frame noise.
// Frames are quantised as the starter code does; the video-level means average the dequantised frames.
//
// Every random number comes from Philox streams keyed by (seed, video index, purpose) or (seed, class,
// purpose): a video depends on nothing but the seed and its index, so videos can be generated in any
// order or in parallel, and the same seed gives byte-identical videos (for one C library: prototypes and
// backgrounds use log, sqrt, sin and cos, whose last bit may differ between C libraries; the per-frame
// noise is integer arithmetic).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ff::data {

struct SyntheticVideoConfig {
  int64_t num_classes = 3862;
  int64_t rgb_size = 1024;
  int64_t audio_size = 128;
  int64_t min_frames = 60;  // frame count uniform in [min_frames, max_frames]
  int64_t max_frames = 300;
  // Labels per video: 1 + Poisson(mean_labels - 1), capped at min(max_labels, num_classes).
  double mean_labels = 3.0;
  int64_t max_labels = 20;
  // Training-video count per class. Empty: a Zipf-Mandelbrot long tail (zipf_class_counts). num_classes
  // entries: used as given (class c has count c). More entries (e.g. the real vocabulary's 3,862
  // TrainVideoCount values for a smaller synthetic vocabulary): resampled by frequency rank
  // (resample_class_counts), so the long tail keeps its shape and class 0 is the most frequent.
  std::vector<int64_t> class_counts;
  // Where a label shows: segments per label uniform in [min_segments, max_segments], each of a length
  // uniform in [min_segment_frames, max_segment_frames] (cut to the video), starting uniformly at random.
  int64_t min_segments = 1;
  int64_t max_segments = 3;
  int64_t min_segment_frames = 5;
  int64_t max_segment_frames = 20;
  // Amplitudes, all as per-dimension root-mean-square values of the dequantised features.
  float signal_strength = 0.1f;       // a label's signal inside its segments
  float strength_spread = 0.5f;       // per (video, label): strength * uniform [1 - spread/2, 1 + spread/2]
  float prototype_variation = 0.5f;   // per (video, class): direction = prototype + variation * fresh noise
  double mean_distractors = 1.0;      // distractor segments per video: Poisson(mean_distractors)
  float distractor_strength = 0.4f;   // relative to signal_strength
  float background = 0.3f;            // per-video constant offset, sd per dimension
  float noise = 0.5f;                 // per-frame noise, sd per dimension
  uint64_t seed = 0;
};

enum class SyntheticFeature { Rgb, Audio };

// One stretch of frames [first_frame, end_frame) where a class's prototype is added.
struct SyntheticSegment {
  int32_t class_index = 0;
  int32_t first_frame = 0;
  int32_t end_frame = 0;
  float strength = 0.0f;  // per-dimension RMS of the added signal
  bool is_label = false;  // false: a distractor
};

struct SyntheticVideo {
  std::string id;               // 4 characters of [0-9a-zA-Z], unique per video index
  std::vector<int32_t> labels;  // sorted ascending, distinct, in [0, num_classes)
  int64_t num_frames = 0;
  std::vector<uint8_t> rgb;     // [num_frames x rgb_size], frame-major, quantised
  std::vector<uint8_t> audio;   // [num_frames x audio_size]
  std::vector<float> mean_rgb;  // mean over frames of the dequantised rgb, [rgb_size]
  std::vector<float> mean_audio;
  std::vector<SyntheticSegment> segments;  // the ground truth behind the frames (not part of a record)
};

class SyntheticVideoGenerator {
 public:
  // Validates the config (std::invalid_argument naming the field) and settles the class frequencies.
  explicit SyntheticVideoGenerator(SyntheticVideoConfig config);

  // The video with this index; a pure function of (config, video_index). Indices must be below
  // kMaxVideos: ids are 4 characters, a bijection of the index.
  SyntheticVideo generate(uint64_t video_index) const;
  // Same, reusing the buffers of `video`.
  void generate(uint64_t video_index, SyntheticVideo& video) const;

  // The class's prototype direction for a feature: [feature size] values with root-mean-square 1.
  std::vector<float> class_prototype(int64_t class_index, SyntheticFeature feature) const;

  const SyntheticVideoConfig& config() const { return config_; }
  // The class frequencies in use (num_classes entries) and their normalised form.
  const std::vector<int64_t>& class_counts() const { return class_counts_; }
  const std::vector<double>& class_probabilities() const { return class_probabilities_; }

  static constexpr uint64_t kMaxVideos = 62ull * 62 * 62 * 62;  // 14,776,336

 private:
  SyntheticVideoConfig config_;
  std::vector<int64_t> class_counts_;
  std::vector<double> class_probabilities_;
  std::vector<double> class_cumulative_;  // for drawing distractor classes by frequency
};

// The 4-character id of a video index under a seed: an affine bijection of [0, 62^4) written in base 62,
// so ids are unique per index and do not count up visibly. Throws std::invalid_argument past kMaxVideos.
std::string synthetic_video_id(uint64_t seed, uint64_t video_index);

// A long tail like YouTube-8M's (2018 TrainVideoCount falls as about rank^-1.3 past the top ranks, the top
// class holding ~7% of all labels): count_r = round(10^6 / ((r + 6) / 6)^1.3) for rank r = 0..n-1, so
// class 0 has 10^6 and each class at least 1.
std::vector<int64_t> zipf_class_counts(int64_t num_classes);

// Keeps the shape of a long tail with fewer classes: with the counts sorted descending (M of them),
// class c gets the count at rank floor(c * M / num_classes). Needs 1 <= num_classes <= M.
std::vector<int64_t> resample_class_counts(const std::vector<int64_t>& counts, int64_t num_classes);

}  // namespace ff::data
