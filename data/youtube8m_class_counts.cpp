#include "data/youtube8m_class_counts.h"

namespace ff::data {

const std::vector<int64_t>& youtube8m_class_counts() {
  static const std::vector<int64_t> counts = {
#include "data/youtube8m_class_counts.inc"
  };
  return counts;
}

}  // namespace ff::data
