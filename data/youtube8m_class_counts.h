// The number of training videos per class of YouTube-8M 2018 (vocabulary.csv's TrainVideoCount), built
// into the binary so the synthetic generator follows the real long tail without any file.
#pragma once
#include <cstdint>
#include <vector>

namespace ff::data {

const std::vector<int64_t>& youtube8m_class_counts();  // 3,862 entries, by class index

}  // namespace ff::data
