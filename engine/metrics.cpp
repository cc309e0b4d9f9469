#include "engine/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace ff {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The one ranking order (see metrics.h): score descending, then example, then class ascending.
bool ranks_before(const MetricsAccumulator::KeptEntry& a, const MetricsAccumulator::KeptEntry& b) {
  if (a.score != b.score) return a.score > b.score;
  if (a.example != b.example) return a.example < b.example;
  return a.class_and_label < b.class_and_label;
}

void validate_batch(const float* scores, const float* labels, int64_t batch, int64_t num_classes) {
  if (batch < 0) throw std::invalid_argument("MetricsAccumulator::add: batch must be >= 0, got " + std::to_string(batch));
  if (batch > 0 && (scores == nullptr || labels == nullptr))
    throw std::invalid_argument("MetricsAccumulator::add: null scores or labels for a batch of " + std::to_string(batch));
  for (int64_t row = 0; row < batch; ++row) {
    for (int64_t c = 0; c < num_classes; ++c) {
      const float score = scores[row * num_classes + c];
      const float label = labels[row * num_classes + c];
      if (std::isnan(score))
        throw std::invalid_argument("MetricsAccumulator::add: NaN score at row " + std::to_string(row) + ", class " +
                                    std::to_string(c));
      if (label != 0.0f && label != 1.0f)
        throw std::invalid_argument("MetricsAccumulator::add: label at row " + std::to_string(row) + ", class " +
                                    std::to_string(c) + " is " + std::to_string(label) + ", expected 0 or 1");
    }
  }
}

}  // namespace

MetricsAccumulator::MetricsAccumulator(int64_t num_classes, int64_t top_k, MetricsOptions options)
    : num_classes_(num_classes), top_k_(top_k), options_(options) {
  // class * 2 + label must fit the 32-bit field of KeptEntry.
  if (num_classes < 1 || num_classes > std::numeric_limits<int32_t>::max())
    throw std::invalid_argument("MetricsAccumulator: num_classes must be in [1, 2^31), got " + std::to_string(num_classes));
  if (top_k < 1) throw std::invalid_argument("MetricsAccumulator: top_k must be >= 1, got " + std::to_string(top_k));
  top_k_ = std::min(top_k, num_classes);
  class_positives_.assign(static_cast<size_t>(num_classes_), 0);
}

void MetricsAccumulator::reset() {
  examples_ = 0;
  num_positives_ = 0;
  hit_at_1_sum_ = 0.0;
  perr_sum_ = 0.0;
  class_positives_.assign(static_cast<size_t>(num_classes_), 0);
  kept_.clear();
}

void MetricsAccumulator::add(const float* scores, const float* labels, int64_t batch) {
  validate_batch(scores, labels, batch, num_classes_);
  std::vector<int32_t> order(static_cast<size_t>(num_classes_));
  kept_.reserve(kept_.size() + static_cast<size_t>(batch * top_k_));
  for (int64_t row = 0; row < batch; ++row) {
    const float* row_scores = scores + row * num_classes_;
    const float* row_labels = labels + row * num_classes_;
    int64_t row_positives = 0;
    for (int64_t c = 0; c < num_classes_; ++c) {
      if (row_labels[c] == 1.0f) {
        ++row_positives;
        ++class_positives_[static_cast<size_t>(c)];
      }
    }
    num_positives_ += row_positives;

    // The top-k for GAP/mAP and the top-L for PERR are prefixes of the same order, so one partial sort
    // serves both; its first element is also the argmax for Hit@1.
    const int64_t prefix = std::max(top_k_, std::min(row_positives, num_classes_));
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + prefix, order.end(), [row_scores](int32_t a, int32_t b) {
      if (row_scores[a] != row_scores[b]) return row_scores[a] > row_scores[b];
      return a < b;
    });

    hit_at_1_sum_ += row_labels[order[0]];
    if (row_positives > 0) {
      int64_t correct = 0;
      for (int64_t i = 0; i < row_positives; ++i) {
        const int32_t c = order[static_cast<size_t>(i)];
        if (row_labels[c] == 1.0f && row_scores[c] > 0.0f) ++correct;
      }
      perr_sum_ += static_cast<double>(correct) / static_cast<double>(row_positives);
    }

    for (int64_t i = 0; i < top_k_; ++i) {
      const int32_t c = order[static_cast<size_t>(i)];
      const uint32_t label = row_labels[c] == 1.0f ? 1u : 0u;
      kept_.push_back(KeptEntry{examples_, row_scores[c], static_cast<uint32_t>(c) * 2u + label});
    }
    ++examples_;
  }
}

std::vector<MetricsAccumulator::KeptEntry> MetricsAccumulator::ranked_entries() const {
  std::vector<KeptEntry> ranked = kept_;
  std::sort(ranked.begin(), ranked.end(), ranks_before);
  return ranked;
}

int64_t MetricsAccumulator::map_class_count() const {
  if (options_.count_classes_without_positives) return num_classes_;
  return std::count_if(class_positives_.begin(), class_positives_.end(), [](int64_t p) { return p > 0; });
}

std::vector<double> MetricsAccumulator::per_class_ap(const std::vector<KeptEntry>& ranked) const {
  // One walk over the global ranking: a class's entries appear in it in that class's own ranking order.
  const size_t classes = static_cast<size_t>(num_classes_);
  std::vector<int64_t> rank(classes, 0), hits(classes, 0);
  std::vector<double> precision_sum(classes, 0.0);
  for (const KeptEntry& entry : ranked) {
    const size_t c = static_cast<size_t>(entry.class_index());
    ++rank[c];
    if (entry.positive()) {
      ++hits[c];
      precision_sum[c] += static_cast<double>(hits[c]) / static_cast<double>(rank[c]);
    }
  }
  std::vector<double> ap(classes, kNaN);
  for (size_t c = 0; c < classes; ++c) {
    if (class_positives_[c] > 0)
      ap[c] = precision_sum[c] / static_cast<double>(class_positives_[c]);
    else if (options_.count_classes_without_positives)
      ap[c] = 0.0;
  }
  return ap;
}

MetricsResult MetricsAccumulator::result() const {
  MetricsResult result;
  result.examples = examples_;
  result.num_positives = num_positives_;
  result.class_positives = class_positives_;
  if (examples_ > 0) {
    result.hit_at_1 = hit_at_1_sum_ / static_cast<double>(examples_);
    result.perr = perr_sum_ / static_cast<double>(examples_);
  }

  const std::vector<KeptEntry> ranked = ranked_entries();
  if (num_positives_ > 0) {
    int64_t hits = 0;
    double precision_sum = 0.0;
    for (size_t i = 0; i < ranked.size(); ++i) {
      if (!ranked[i].positive()) continue;
      ++hits;
      precision_sum += static_cast<double>(hits) / static_cast<double>(i + 1);
    }
    result.gap = precision_sum / static_cast<double>(num_positives_);
  }

  result.per_class_ap = per_class_ap(ranked);
  result.map_classes = map_class_count();
  double ap_sum = 0.0;
  for (double ap : result.per_class_ap)
    if (!std::isnan(ap)) ap_sum += ap;
  result.map = result.map_classes > 0 ? ap_sum / static_cast<double>(result.map_classes) : kNaN;
  return result;
}

std::vector<SubsetMetrics> MetricsAccumulator::subset_results(const std::vector<std::vector<int32_t>>& subsets) const {
  const std::vector<KeptEntry> ranked = ranked_entries();
  const std::vector<double> class_ap = per_class_ap(ranked);
  const int64_t overall_map_classes = map_class_count();

  std::vector<SubsetMetrics> results;
  results.reserve(subsets.size());
  std::vector<char> in_subset(static_cast<size_t>(num_classes_));
  for (size_t s = 0; s < subsets.size(); ++s) {
    std::fill(in_subset.begin(), in_subset.end(), 0);
    SubsetMetrics metrics;
    metrics.num_classes = static_cast<int64_t>(subsets[s].size());
    double ap_sum = 0.0;
    for (int32_t c : subsets[s]) {
      if (c < 0 || c >= num_classes_)
        throw std::invalid_argument("MetricsAccumulator::subset_results: class " + std::to_string(c) + " of subset " +
                                    std::to_string(s) + " is outside [0, " + std::to_string(num_classes_) + ")");
      if (in_subset[static_cast<size_t>(c)])
        throw std::invalid_argument("MetricsAccumulator::subset_results: class " + std::to_string(c) +
                                    " appears twice in subset " + std::to_string(s));
      in_subset[static_cast<size_t>(c)] = 1;
      metrics.num_positives += class_positives_[static_cast<size_t>(c)];
      const double ap = class_ap[static_cast<size_t>(c)];
      if (!std::isnan(ap)) {
        ap_sum += ap;
        ++metrics.map_classes;
      }
    }
    metrics.map = metrics.map_classes > 0 ? ap_sum / static_cast<double>(metrics.map_classes) : kNaN;
    metrics.map_contribution = overall_map_classes > 0 ? ap_sum / static_cast<double>(overall_map_classes) : kNaN;

    if (metrics.num_positives > 0) {
      int64_t rank = 0, hits = 0;
      double precision_sum = 0.0;
      for (const KeptEntry& entry : ranked) {
        if (!in_subset[static_cast<size_t>(entry.class_index())]) continue;
        ++rank;
        if (!entry.positive()) continue;
        ++hits;
        precision_sum += static_cast<double>(hits) / static_cast<double>(rank);
      }
      metrics.gap = precision_sum / static_cast<double>(metrics.num_positives);
    }
    results.push_back(metrics);
  }
  return results;
}

}  // namespace ff
