#include "engine/metrics_class_subsets.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace ff {
namespace {

// All classes ranked by count (ascending for rare, descending for frequent), ties by class index.
std::vector<int32_t> ranked_by_count(const std::vector<int64_t>& train_counts, int64_t r, bool rarest_first,
                                     const char* caller) {
  const int64_t classes = static_cast<int64_t>(train_counts.size());
  if (r < 0 || r > classes)
    throw std::invalid_argument(std::string(caller) + ": r = " + std::to_string(r) + " is outside [0, " +
                                std::to_string(classes) + "]");
  for (int64_t c = 0; c < classes; ++c)
    if (train_counts[static_cast<size_t>(c)] < 0)
      throw std::invalid_argument(std::string(caller) + ": training count of class " + std::to_string(c) +
                                  " is negative (" + std::to_string(train_counts[static_cast<size_t>(c)]) + ")");
  std::vector<int32_t> order(train_counts.size());
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + r, order.end(), [&](int32_t a, int32_t b) {
    const int64_t count_a = train_counts[static_cast<size_t>(a)], count_b = train_counts[static_cast<size_t>(b)];
    if (count_a != count_b) return rarest_first ? count_a < count_b : count_a > count_b;
    return a < b;
  });
  order.resize(static_cast<size_t>(r));
  return order;
}

}  // namespace

std::string frequency_group_name(FrequencyGroup group) { return group == FrequencyGroup::rare ? "rare" : "frequent"; }

std::vector<int32_t> rarest_classes(const std::vector<int64_t>& train_counts, int64_t r) {
  return ranked_by_count(train_counts, r, true, "rarest_classes");
}

std::vector<int32_t> most_frequent_classes(const std::vector<int64_t>& train_counts, int64_t r) {
  return ranked_by_count(train_counts, r, false, "most_frequent_classes");
}

std::vector<FrequencyGroupMetrics> rare_and_frequent_metrics(const MetricsAccumulator& accumulator,
                                                             const std::vector<int64_t>& train_counts,
                                                             const std::vector<int64_t>& r_values) {
  if (static_cast<int64_t>(train_counts.size()) != accumulator.num_classes())
    throw std::invalid_argument("rare_and_frequent_metrics: " + std::to_string(train_counts.size()) +
                                " training counts for " + std::to_string(accumulator.num_classes()) + " classes");
  std::vector<std::vector<int32_t>> subsets;
  std::vector<FrequencyGroupMetrics> results;
  for (int64_t r : r_values) {
    if (r < 1) throw std::invalid_argument("rare_and_frequent_metrics: r must be >= 1, got " + std::to_string(r));
    if (r > accumulator.num_classes()) continue;
    subsets.push_back(rarest_classes(train_counts, r));
    results.push_back({FrequencyGroup::rare, r, {}});
    subsets.push_back(most_frequent_classes(train_counts, r));
    results.push_back({FrequencyGroup::frequent, r, {}});
  }
  const std::vector<SubsetMetrics> metrics = accumulator.subset_results(subsets);
  for (size_t i = 0; i < results.size(); ++i) results[i].metrics = metrics[i];
  return results;
}

}  // namespace ff
