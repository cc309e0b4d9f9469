// File globs, as the starter code's --train_data_pattern takes them.
#pragma once
#include <string>
#include <vector>

namespace ff::data {

// The files a list of globs names, sorted, duplicates removed. A pattern that matches nothing is a
// DataError naming it.
std::vector<std::string> expand_file_patterns(const std::vector<std::string>& patterns);

}  // namespace ff::data
