#include "data/file_patterns.h"

#include <glob.h>

#include <algorithm>

#include "data/data_error.h"

namespace ff::data {

std::vector<std::string> expand_file_patterns(const std::vector<std::string>& patterns) {
  std::vector<std::string> files;
  for (const std::string& pattern : patterns) {
    glob_t matches{};
    int status = ::glob(pattern.c_str(), 0, nullptr, &matches);
    if (status == GLOB_NOMATCH || (status == 0 && matches.gl_pathc == 0)) {
      globfree(&matches);
      throw DataError(pattern, DataError::kNoOffset, "", "no file matches this pattern");
    }
    if (status != 0) {
      globfree(&matches);
      throw DataError(pattern, DataError::kNoOffset, "", "cannot expand the pattern (glob error)");
    }
    for (size_t i = 0; i < matches.gl_pathc; ++i) files.emplace_back(matches.gl_pathv[i]);
    globfree(&matches);
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  return files;
}

}  // namespace ff::data
