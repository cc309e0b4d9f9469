// The Kaggle submission CSV of YouTube-8M (the starter code's inference.py, final 2018 form):
//
//   VideoId,LabelConfidencePairs
//   02aa,3 0.98 4 0.95 9 0.5
//
// One line per video: its id, a comma, then its top-k classes as space-separated `label score` pairs,
// sorted by descending score; labels printed as integers, scores with %g (6 significant digits), every
// line newline-terminated. The file holds only the top-k pairs of each video: a reader treats the other
// classes as scored 0.
#pragma once
#include <cstdint>
#include <istream>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/atomic_file.h"

namespace ff::tools {

inline constexpr const char* kKaggleCsvHeader = "VideoId,LabelConfidencePairs";

struct LabelScore {
  int32_t label = 0;
  float score = 0.0f;
  bool operator==(const LabelScore&) const = default;
};

// The min(top_k, num_classes) highest scores of one row, by descending score, equal scores by ascending
// class index (the order of the metrics, engine/metrics.h). Throws std::invalid_argument for top_k < 1.
std::vector<LabelScore> top_scores(const float* scores, int64_t num_classes, int64_t top_k);

// One data line without its newline: "id,3 0.98 4 0.95". Throws std::invalid_argument when the id is
// empty or holds a comma, a quote, a space or a line break (the format has no quoting), or a score is
// not finite.
std::string kaggle_csv_line(const std::string& video_id, const std::vector<LabelScore>& pairs);

// Writes the header, then one line per add(), to `path` atomically: the file appears complete at
// commit() or not at all (destroying the writer without commit() leaves whatever was there before).
class KaggleCsvWriter {
 public:
  KaggleCsvWriter(const std::string& path, int64_t top_k);
  // Adds the video whose class scores are scores[0..num_classes).
  void add(const std::string& video_id, const float* scores, int64_t num_classes);
  void commit();

  int64_t videos() const { return videos_; }
  const std::string& path() const { return file_.path(); }

 private:
  AtomicFileWriter file_;
  int64_t top_k_;
  int64_t videos_ = 0;
  std::string line_;
};

// The rows of a Kaggle CSV, in file order, with each video's line number for messages.
struct KagglePredictions {
  struct Row {
    std::string video_id;
    std::vector<LabelScore> pairs;  // as in the file
    int64_t line = 0;               // 1-based; the header is line 1
  };
  std::vector<Row> rows;
  std::unordered_map<std::string, size_t> index;  // video id -> rows[]

  const Row* find(const std::string& video_id) const;
};

// Strict parsing. Every problem throws std::runtime_error "<name>:<line>: <reason>": a header other than
// kKaggleCsvHeader, a line without a comma or with an empty id, an odd number of fields in the pairs, a
// label that is not an integer in [0, num_classes), a score that is not a finite number, a label repeated
// within a line, a video id repeated in the file (naming the earlier line), an empty line. A video with no
// pairs ("id,") is allowed: every class scores 0. A trailing "\r" is accepted (files edited on Windows).
KagglePredictions parse_kaggle_csv(std::istream& in, const std::string& name, int64_t num_classes);
KagglePredictions read_kaggle_csv(const std::string& path, int64_t num_classes);

}  // namespace ff::tools
