// Metrics on the rare and the frequent classes (the supplementary's Table 2: bottom-r and top-r classes
// by the amount of training data), on top of MetricsAccumulator::subset_results.
//
// Classes are ranked by their training frequency (e.g. the vocabulary's TrainVideoCount, or label counts
// of the training files). Rare = the r classes with the smallest counts, frequent = the r with the
// largest; equal counts are broken by class index, lower index first, in both rankings. So with all counts
// equal, rare-r and frequent-r are both classes 0..r-1.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/metrics.h"

namespace ff {

enum class FrequencyGroup { rare, frequent };

std::string frequency_group_name(FrequencyGroup group);  // "rare" / "frequent"

// Class indices of the r rarest / r most frequent classes, in ranking order (rarest / most frequent first).
// Throws std::invalid_argument when a count is negative or r is outside [0, counts.size()].
std::vector<int32_t> rarest_classes(const std::vector<int64_t>& train_counts, int64_t r);
std::vector<int32_t> most_frequent_classes(const std::vector<int64_t>& train_counts, int64_t r);

struct FrequencyGroupMetrics {
  FrequencyGroup group;
  int64_t r;
  SubsetMetrics metrics;  // gap, map and map_contribution as defined in metrics.h
};

// The Table 2 r values.
inline const std::vector<int64_t> kTable2ClassCounts = {100, 200, 500, 1000, 2000};

// For each r (in the given order; r > num_classes is skipped, r < 1 throws): the rare group, then the
// frequent group. train_counts must have one entry per class of the accumulator.
std::vector<FrequencyGroupMetrics> rare_and_frequent_metrics(const MetricsAccumulator& accumulator,
                                                             const std::vector<int64_t>& train_counts,
                                                             const std::vector<int64_t>& r_values = kTable2ClassCounts);

}  // namespace ff
