#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "engine/metrics.h"
#include "engine/metrics_class_subsets.h"

using ff::MetricsAccumulator;
using ff::MetricsOptions;

namespace {

MetricsAccumulator metrics_of(int64_t num_classes, int64_t top_k, const std::vector<float>& scores,
                              const std::vector<float>& labels, MetricsOptions options = {}) {
  MetricsAccumulator accumulator(num_classes, top_k, options);
  accumulator.add(scores.data(), labels.data(), static_cast<int64_t>(scores.size()) / num_classes);
  return accumulator;
}

}  // namespace

// 3 videos x 4 classes, top_k = 2.
//            scores                      labels     kept top-2
//   video 0: 0.9  0.8  0.3  0.1          1 0 1 0    c0 0.9 (+), c1 0.8 (-)   c2 positive left out
//   video 1: 0.2  0.7  0.6  0.05         0 1 0 1    c1 0.7 (+), c2 0.6 (-)   c3 positive left out
//   video 2: 0.4  0.35 0.85 0.5          1 0 0 1    c2 0.85(-), c3 0.5 (+)   c0 positive left out
// num_positives = 6; class positives c0 2, c1 1, c2 1, c3 2.
// GAP: pooled ranking 0.9+ 0.85- 0.8- 0.7+ 0.6- 0.5+ -> (1/1 + 2/4 + 3/6) / 6 = 2/6 = 1/3.
// Per-class AP: c0 [0.9+] -> 1/2; c1 [0.8-, 0.7+] -> (1/2)/1 = 1/2; c2 [0.85-, 0.6-] -> 0;
//               c3 [0.5+] -> 1/2.  mAP = (0.5 + 0.5 + 0 + 0.5) / 4 = 0.375.
// Hit@1: argmax c0 (+), c1 (+), c2 (-) -> 2/3.
// PERR: every video has L = 2 and exactly one positive among its top 2 -> (1/2 + 1/2 + 1/2) / 3 = 1/2.
TEST_CASE("worked 3x4 example: GAP, mAP, Hit@1, PERR", "[metrics]") {
  const std::vector<float> scores = {0.9f, 0.8f, 0.3f, 0.1f, 0.2f, 0.7f, 0.6f, 0.05f, 0.4f, 0.35f, 0.85f, 0.5f};
  const std::vector<float> labels = {1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1};
  const ff::MetricsResult r = metrics_of(4, 2, scores, labels).result();
  CHECK(r.examples == 3);
  CHECK(r.num_positives == 6);
  CHECK(r.class_positives == std::vector<int64_t>{2, 1, 1, 2});
  CHECK(r.gap == Approx(1.0 / 3.0));
  CHECK(r.per_class_ap[0] == Approx(0.5));
  CHECK(r.per_class_ap[1] == Approx(0.5));
  CHECK(r.per_class_ap[2] == Approx(0.0).margin(1e-12));
  CHECK(r.per_class_ap[3] == Approx(0.5));
  CHECK(r.map == Approx(0.375));
  CHECK(r.map_classes == 4);
  CHECK(r.hit_at_1 == Approx(2.0 / 3.0));
  CHECK(r.perr == Approx(0.5));
}

// One video, 3 classes: scores 0.9 0.5 0.1, labels 1 0 1.
// top_k = 1 keeps only c0 (+): GAP = (1/1) / 2 = 0.5 -- the c2 positive counts in the denominator.
// top_k = 3 keeps all: ranking + - + -> (1/1 + 2/3) / 2 = 5/6.
TEST_CASE("a positive outside the top-k lowers GAP and mAP through the denominator", "[metrics]") {
  const std::vector<float> scores = {0.9f, 0.5f, 0.1f};
  const std::vector<float> labels = {1, 0, 1};
  const ff::MetricsResult cut = metrics_of(3, 1, scores, labels).result();
  CHECK(cut.num_positives == 2);
  CHECK(cut.gap == Approx(0.5));
  // c2 has a positive but no kept entry: AP 0, still in the mean. mAP = (1 + 0) / 2.
  CHECK(cut.per_class_ap[2] == Approx(0.0).margin(1e-12));
  CHECK(cut.map == Approx(0.5));
  CHECK(cut.map_classes == 2);
  const ff::MetricsResult full = metrics_of(3, 3, scores, labels).result();
  CHECK(full.gap == Approx(5.0 / 6.0));
  CHECK(full.map == Approx(1.0));
}

// 2 videos x 3 classes, top_k = 3 (all kept); class 2 has no positive.
//   video 0: scores 0.3 0.2 0.6, labels 1 0 0
//   video 1: scores 0.4 0.8 0.7, labels 0 1 0
// c0 ranking [v1 0.4-, v0 0.3+] -> AP 1/2; c1 [v1 0.8+, v0 0.2-] -> AP 1.
// Default: c2 left out, mAP = (0.5 + 1) / 2 = 0.75. Option: c2 counts as 0, mAP = 1.5 / 3 = 0.5.
TEST_CASE("a class without positives is left out of mAP unless the option counts it as 0", "[metrics]") {
  const std::vector<float> scores = {0.3f, 0.2f, 0.6f, 0.4f, 0.8f, 0.7f};
  const std::vector<float> labels = {1, 0, 0, 0, 1, 0};
  const ff::MetricsResult filtered = metrics_of(3, 3, scores, labels).result();
  CHECK(filtered.map == Approx(0.75));
  CHECK(filtered.map_classes == 2);
  CHECK(std::isnan(filtered.per_class_ap[2]));
  const ff::MetricsResult counted = metrics_of(3, 3, scores, labels, MetricsOptions{true}).result();
  CHECK(counted.map == Approx(0.5));
  CHECK(counted.map_classes == 3);
  CHECK(counted.per_class_ap[2] == 0.0);
  // Options do not change GAP: ranking 0.8+ 0.7- 0.6- 0.4- 0.3+ 0.2- -> (1 + 2/5) / 2 = 0.7.
  CHECK(filtered.gap == Approx(0.7));
  CHECK(counted.gap == filtered.gap);
}

TEST_CASE("no positive at all: GAP 0, mAP NaN (empty mean)", "[metrics]") {
  const ff::MetricsResult r = metrics_of(2, 2, {0.5f, 0.2f}, {0, 0}).result();
  CHECK(r.gap == 0.0);
  CHECK(std::isnan(r.map));
  CHECK(r.hit_at_1 == 0.0);
  CHECK(r.perr == 0.0);
  const ff::MetricsResult empty = MetricsAccumulator(5).result();
  CHECK(empty.examples == 0);
  CHECK(empty.gap == 0.0);
  CHECK(empty.hit_at_1 == 0.0);
}

// Scores on a 0.1 grid so that ties occur inside videos and across videos: the fixed tie rule must make
// the split into batches irrelevant, bit for bit.
TEST_CASE("accumulating over several add() calls equals one call with all rows", "[metrics]") {
  const int64_t videos = 10, classes = 7, top_k = 3;
  std::vector<float> scores(videos * classes), labels(videos * classes);
  for (int64_t i = 0; i < videos * classes; ++i) {
    scores[i] = static_cast<float>((i * 37 + 11) % 10) / 10.0f;
    labels[i] = ((i * 13 + 5) % 7) < 2 ? 1.0f : 0.0f;
  }
  const ff::MetricsResult whole = metrics_of(classes, top_k, scores, labels).result();

  MetricsAccumulator split(classes, top_k);
  const int64_t parts[] = {3, 0, 4, 1, 2};
  int64_t row = 0;
  for (int64_t part : parts) {
    split.add(scores.data() + row * classes, labels.data() + row * classes, part);
    row += part;
  }
  REQUIRE(row == videos);
  const ff::MetricsResult pieces = split.result();
  CHECK(whole.num_positives > 0);
  CHECK(pieces.examples == whole.examples);
  CHECK(pieces.num_positives == whole.num_positives);
  CHECK(pieces.gap == whole.gap);
  CHECK(pieces.map == whole.map);
  CHECK(pieces.hit_at_1 == whole.hit_at_1);
  CHECK(pieces.perr == whole.perr);
  CHECK(pieces.class_positives == whole.class_positives);
  for (int64_t c = 0; c < classes; ++c) {
    const double a = pieces.per_class_ap[c], b = whole.per_class_ap[c];
    CHECK(((std::isnan(a) && std::isnan(b)) || a == b));
  }

  // reset() forgets everything.
  split.reset();
  split.add(scores.data(), labels.data(), videos);
  CHECK(split.result().gap == whole.gap);
}

// Ties follow the documented order: equal scores rank by video, then class.
// video 0: scores 0.5 0.5, labels 0 1; video 1: scores 0.5 0.5, labels 1 0; top_k = 2.
// Pooled order v0c0- v0c1+ v1c0+ v1c1- -> GAP (1/2 + 2/3) / 2 = 7/12. Hit@1: argmax is c0 (first index)
// -> labels 0, 1 -> 1/2.
TEST_CASE("tied scores rank by video then class", "[metrics]") {
  const ff::MetricsResult r = metrics_of(2, 2, {0.5f, 0.5f, 0.5f, 0.5f}, {0, 1, 1, 0}).result();
  CHECK(r.gap == Approx(7.0 / 12.0));
  CHECK(r.hit_at_1 == Approx(0.5));
  // Per class: c0 [v0-, v1+] -> 1/2; c1 [v0+, v1-] -> 1.
  CHECK(r.per_class_ap[0] == Approx(0.5));
  CHECK(r.per_class_ap[1] == Approx(1.0));

  // Inside one video, equal scores rank the lower class first: for the top-k choice, Hit@1 and PERR.
  // scores 0.5 0.5 0.5, labels 0 0 1, top_k = 1: kept c0 (-) -> GAP 0; argmax c0 -> Hit@1 0; L = 1,
  // top 1 = c0 -> PERR 0. Ranking c2 first would give 1 for all three.
  const ff::MetricsResult one = metrics_of(3, 1, {0.5f, 0.5f, 0.5f}, {0, 0, 1}).result();
  CHECK(one.gap == 0.0);
  CHECK(one.hit_at_1 == 0.0);
  CHECK(one.perr == 0.0);
}

// video 0: scores 0.5 0.0 0.0, labels 1 1 0: L = 2, top 2 = c0 (0.5, +), c1 (0.0, +, tie with c2 broken
//          by class index) -> the score-0 positive does not count -> 1/2.
// video 1: scores 0.2 0.1 0.3, no positive -> 0, but still counted in the average.
// PERR = (1/2 + 0) / 2 = 1/4.
TEST_CASE("PERR ignores positives with score 0 and averages over label-less videos", "[metrics]") {
  const ff::MetricsResult r = metrics_of(3, 3, {0.5f, 0.0f, 0.0f, 0.2f, 0.1f, 0.3f}, {1, 1, 0, 0, 0, 0}).result();
  CHECK(r.perr == Approx(0.25));
  // PERR looks at the top L even when L > top_k: with top_k = 1 video 0 still scores 1/2.
  const ff::MetricsResult narrow = metrics_of(3, 1, {0.5f, 0.4f, 0.0f}, {1, 1, 0}).result();
  CHECK(narrow.perr == Approx(1.0));
}

TEST_CASE("bad inputs throw without changing the accumulator", "[metrics]") {
  CHECK_THROWS_AS(MetricsAccumulator(0), std::invalid_argument);
  CHECK_THROWS_AS(MetricsAccumulator(3, 0), std::invalid_argument);
  CHECK(MetricsAccumulator(4).top_k() == 4);  // default 20 clamped to the class count
  MetricsAccumulator accumulator(2, 2);
  const std::vector<float> scores = {0.5f, 0.2f, 0.1f, 0.3f};
  CHECK_THROWS_AS(accumulator.add(scores.data(), std::vector<float>{1, 0, 0.5f, 0}.data(), 2), std::invalid_argument);
  CHECK_THROWS_AS(accumulator.add(std::vector<float>{0.5f, NAN, 0.1f, 0.3f}.data(), std::vector<float>{1, 0, 0, 1}.data(), 2),
                  std::invalid_argument);
  CHECK_THROWS_AS(accumulator.add(scores.data(), scores.data(), -1), std::invalid_argument);
  CHECK(accumulator.examples() == 0);
  CHECK(accumulator.result().num_positives == 0);
}

// 6 classes, training counts 50 5 20 5 100 1.
//   rarest first:        c5(1) c1(5) c3(5) c2(20) c0(50) c4(100)   (c1 before c3: tie by class index)
//   most frequent first: c4 c0 c2 c1 c3 c5
// 3 videos, top_k = 2:
//   video 0: scores 0.9 0.1 0.2 0.3 0.8 0.05, positives c0 c5   kept c0 0.9+, c4 0.8-
//   video 1: scores 0.15 0.7 0.1 0.2 0.6 0.65, positives c1 c5  kept c1 0.7+, c5 0.65+
//   video 2: scores 0.5 0.75 0.1 0.2 0.95 0.3, positive c4      kept c4 0.95+, c1 0.75-
// Class positives c0 1, c1 1, c2 0, c3 0, c4 1, c5 2; total 5.
// Pooled ranking: v2c4+ v0c0+ v0c4- v2c1- v1c1+ v1c5+ -> GAP (1 + 1 + 3/5 + 4/6) / 5 = 49/75.
// Per-class AP: c0 1, c1 [0.75-, 0.7+] 1/2, c4 [0.95+, 0.8-] 1, c5 [0.65+] 1/2; mAP over 4 classes 3/4.
// rare-2 = {c5, c1}: restricted ranking v2c1- v1c1+ v1c5+ (ranks renumbered 1..3), 3 positives
//   -> GAP (1/2 + 2/3) / 3 = 7/18; mAP (1/2 + 1/2) / 2 = 1/2; contribution 1 / 4 = 1/4.
// frequent-2 = {c4, c0}: v2c4+ v0c0+ v0c4-, 2 positives -> GAP 1; mAP 1; contribution 2 / 4 = 1/2.
// rare-3 adds c3 (no positives: outside the mean): same GAP and mAP as rare-2, 2 classes in the mean.
TEST_CASE("rare and frequent class subsets", "[metrics]") {
  const std::vector<int64_t> counts = {50, 5, 20, 5, 100, 1};
  CHECK(ff::rarest_classes(counts, 6) == std::vector<int32_t>{5, 1, 3, 2, 0, 4});
  CHECK(ff::most_frequent_classes(counts, 6) == std::vector<int32_t>{4, 0, 2, 1, 3, 5});
  CHECK(ff::rarest_classes(counts, 2) == std::vector<int32_t>{5, 1});
  CHECK_THROWS_AS(ff::rarest_classes(counts, 7), std::invalid_argument);
  CHECK_THROWS_AS(ff::most_frequent_classes({3, -1}, 1), std::invalid_argument);

  const std::vector<float> scores = {0.9f,  0.1f,  0.2f, 0.3f, 0.8f, 0.05f, 0.15f, 0.7f, 0.1f,
                                     0.2f,  0.6f,  0.65f, 0.5f, 0.75f, 0.1f, 0.2f,  0.95f, 0.3f};
  const std::vector<float> labels = {1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
  const MetricsAccumulator accumulator = metrics_of(6, 2, scores, labels);
  const ff::MetricsResult overall = accumulator.result();
  CHECK(overall.gap == Approx(49.0 / 75.0));
  CHECK(overall.map == Approx(0.75));

  const auto groups = ff::rare_and_frequent_metrics(accumulator, counts, {2, 3, 7});
  REQUIRE(groups.size() == 4);  // r = 7 > 6 classes is skipped
  CHECK(groups[0].group == ff::FrequencyGroup::rare);
  CHECK(groups[0].r == 2);
  CHECK(groups[0].metrics.gap == Approx(7.0 / 18.0));
  CHECK(groups[0].metrics.map == Approx(0.5));
  CHECK(groups[0].metrics.map_contribution == Approx(0.25));
  CHECK(groups[0].metrics.num_positives == 3);
  CHECK(groups[0].metrics.map_classes == 2);
  CHECK(groups[1].group == ff::FrequencyGroup::frequent);
  CHECK(groups[1].metrics.gap == Approx(1.0));
  CHECK(groups[1].metrics.map == Approx(1.0));
  CHECK(groups[1].metrics.map_contribution == Approx(0.5));
  CHECK(groups[1].metrics.num_positives == 2);
  CHECK(groups[2].group == ff::FrequencyGroup::rare);
  CHECK(groups[2].r == 3);
  CHECK(groups[2].metrics.num_classes == 3);
  CHECK(groups[2].metrics.map_classes == 2);
  CHECK(groups[2].metrics.gap == Approx(7.0 / 18.0));
  CHECK(groups[2].metrics.map == Approx(0.5));

  // The whole class set as a subset reproduces the overall GAP and mAP.
  const auto all = accumulator.subset_results({{0, 1, 2, 3, 4, 5}});
  CHECK(all[0].gap == Approx(overall.gap));
  CHECK(all[0].map == Approx(overall.map));
  CHECK(all[0].map_contribution == Approx(overall.map));

  CHECK_THROWS_AS(ff::rare_and_frequent_metrics(accumulator, {1, 2, 3}), std::invalid_argument);
  CHECK_THROWS_AS(accumulator.subset_results({{0, 0}}), std::invalid_argument);
  CHECK_THROWS_AS(accumulator.subset_results({{6}}), std::invalid_argument);
}
