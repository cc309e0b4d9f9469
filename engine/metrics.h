// Multi-label evaluation metrics of the YouTube-8M starter code (eval_util.py and the average-precision
// calculators): GAP@k, top-k-truncated mAP, Hit@1 and PERR, accumulated batch by batch.
//
// Generic: the accumulator sees score and 0/1 label matrices only, nothing of videos or files. One row of
// the matrices is called an "example" below (a video in YouTube-8M).
//
// Definitions (k = min(top_k, num_classes)):
// * Kept entries: for every example, its k highest-scoring classes as (score, label, example, class).
//   Only these are stored, so memory is O(examples * k + num_classes), never O(examples * num_classes).
// * num_positives: the count of all positive labels of all examples, also those outside any top-k.
// * AP of a ranked list with denominator P: walk the list; at each positive at 1-based rank i add
//   (positives seen so far, this one included) / i / P. P = 0 gives AP 0. Positives that never reach a
//   kept entry lower the AP through P.
// * GAP: AP of all kept entries pooled and ranked, P = num_positives.
// * Per-class AP of class c: AP of the kept entries of class c, ranked, P = positives of class c.
//   mAP: plain mean of the per-class APs of the classes with at least one positive (the current
//   starter's filter_empty_classes=True); with count_classes_without_positives the mean runs over all
//   classes and those without positives count as AP 0 (the older starter code). No class to average
//   gives NaN (numpy.mean of an empty list).
// * Hit@1: label of the highest-scoring class, averaged over examples.
// * PERR: for an example with L positives, take its L highest-scoring classes and count those that are
//   positive and have score > 0, divided by L; an example without positives scores 0 and still counts
//   in the average over all examples (as in the starter code).
// * Hit@1 and PERR are 0 when no example was added.
//
// Ranking and ties. One total order is used everywhere: score descending, then example index ascending
// (the order in which rows were added, over all add() calls), then class index ascending. It applies to
// the top-k choice inside an example (equal scores: lower class first), to Hit@1 (first index wins, like
// numpy.argmax), to PERR's top-L and to the pooled and per-class rankings. So results do not depend on
// how the rows are split into batches. The starter code breaks ties with argpartition and a seeded
// pseudo-random shuffle instead; with distinct scores both agree exactly, with tied scores (exact zeros,
// saturated sigmoids) results can differ from the starter's.
#pragma once
#include <cstdint>
#include <vector>

namespace ff {

struct MetricsOptions {
  // false: classes without positives are left out of mAP (current starter code). true: they count as
  // AP 0 and the mean runs over all num_classes classes (older starter code, e.g. the NeXtVLAD copy).
  bool count_classes_without_positives = false;
};

struct MetricsResult {
  double gap = 0.0;
  double map = 0.0;
  double hit_at_1 = 0.0;
  double perr = 0.0;
  int64_t examples = 0;       // videos
  int64_t num_positives = 0;  // all positive labels, inside or outside the top-k
  int64_t map_classes = 0;    // how many per-class APs the mAP averages
  // AP of every class; NaN for classes left out of mAP (no positives, default options).
  std::vector<double> per_class_ap;
  // positives of every class over all examples.
  std::vector<int64_t> class_positives;
};

// Metrics restricted to a subset S of the classes.
// * gap: the pooled kept entries whose class is in S, in the global ranking order (entries of other
//   classes removed, ranks renumbered), AP with P = positives of the classes in S (also those outside
//   any top-k). 0 when S has no positive.
// * map: plain mean of the per-class APs of the classes in S that enter the overall mAP (see
//   MetricsOptions); NaN when none does.
// * map_contribution: sum of those per-class APs divided by the overall mAP's class count, i.e. the
//   share of the overall mAP that S contributes (the contributions of a partition of the classes add up
//   to the overall mAP). The supplementary's Table 2 "mAP" of bottom-r/top-r classes grows about
//   linearly with r (0.018 for the top 100, 0.232 for the top 2000) and bottom-2000 plus top-2000 is
//   close to the paper's overall mAP, which matches this quantity, not a mean over S.
struct SubsetMetrics {
  double gap = 0.0;
  double map = 0.0;
  double map_contribution = 0.0;
  int64_t num_classes = 0;    // |S|
  int64_t map_classes = 0;    // classes of S in the mean
  int64_t num_positives = 0;  // positives of the classes of S
};

class MetricsAccumulator {
 public:
  // num_classes >= 1, top_k >= 1 (clamped to num_classes); throws std::invalid_argument otherwise.
  explicit MetricsAccumulator(int64_t num_classes, int64_t top_k = 20, MetricsOptions options = {});

  // scores and labels: row-major [batch, num_classes]. Labels must be exactly 0 or 1 and scores must not
  // be NaN; throws std::invalid_argument (naming the row and class) before changing any state otherwise.
  // batch = 0 is allowed and adds nothing.
  void add(const float* scores, const float* labels, int64_t batch);

  // Metrics of everything added so far (sorts the kept entries: O(n log n), n = examples * k).
  MetricsResult result() const;
  // Metrics restricted to each class subset (class indices in [0, num_classes), duplicates throw);
  // one ranking shared by all subsets.
  std::vector<SubsetMetrics> subset_results(const std::vector<std::vector<int32_t>>& subsets) const;

  void reset();

  int64_t num_classes() const { return num_classes_; }
  int64_t top_k() const { return top_k_; }
  int64_t examples() const { return examples_; }
  const MetricsOptions& options() const { return options_; }

  // One kept (example, class) entry. The label shares a word with the class index to keep entries at
  // 16 bytes (about 350 MB for the 1.1 M videos of the full YouTube-8M validation set at k = 20).
  struct KeptEntry {
    int64_t example;
    float score;
    uint32_t class_and_label;  // class * 2 + label
    int32_t class_index() const { return static_cast<int32_t>(class_and_label >> 1); }
    bool positive() const { return (class_and_label & 1u) != 0; }
  };

 private:
  std::vector<KeptEntry> ranked_entries() const;
  std::vector<double> per_class_ap(const std::vector<KeptEntry>& ranked) const;
  int64_t map_class_count() const;

  int64_t num_classes_;
  int64_t top_k_;
  MetricsOptions options_;
  int64_t examples_ = 0;
  int64_t num_positives_ = 0;
  double hit_at_1_sum_ = 0.0;
  double perr_sum_ = 0.0;
  std::vector<int64_t> class_positives_;
  std::vector<KeptEntry> kept_;
};

}  // namespace ff
