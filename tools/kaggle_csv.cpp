#include "tools/kaggle_csv.h"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <numeric>
#include <stdexcept>
#include <string_view>

namespace ff::tools {

std::vector<LabelScore> top_scores(const float* scores, int64_t num_classes, int64_t top_k) {
  if (top_k < 1) throw std::invalid_argument("top_k must be >= 1, got " + std::to_string(top_k));
  const int64_t k = std::min(top_k, num_classes);
  std::vector<int32_t> classes(static_cast<size_t>(num_classes));
  std::iota(classes.begin(), classes.end(), 0);
  auto higher = [scores](int32_t a, int32_t b) { return scores[a] != scores[b] ? scores[a] > scores[b] : a < b; };
  std::partial_sort(classes.begin(), classes.begin() + k, classes.end(), higher);
  std::vector<LabelScore> top(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) top[size_t(i)] = {classes[size_t(i)], scores[classes[size_t(i)]]};
  return top;
}

std::string kaggle_csv_line(const std::string& video_id, const std::vector<LabelScore>& pairs) {
  if (video_id.empty()) throw std::invalid_argument("a Kaggle CSV line needs a video id; this one is empty");
  if (video_id.find_first_of(",\" \t\r\n") != std::string::npos)
    throw std::invalid_argument("video id '" + video_id +
                                "' holds a comma, quote, space or line break, which the Kaggle CSV cannot represent");
  std::string line = video_id + ',';
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (!std::isfinite(pairs[i].score))
      throw std::invalid_argument(fmt::format("video {}: score of class {} is not finite ({})", video_id,
                                              pairs[i].label, pairs[i].score));
    // %g as the starter code's inference.py prints it: 6 significant digits, 1e-05 for small values.
    line += fmt::format("{}{} {:g}", i ? " " : "", pairs[i].label, double(pairs[i].score));
  }
  return line;
}

KaggleCsvWriter::KaggleCsvWriter(const std::string& path, int64_t top_k) : file_(path), top_k_(top_k) {
  if (top_k < 1) throw std::invalid_argument("top_k must be >= 1, got " + std::to_string(top_k));
  line_ = std::string(kKaggleCsvHeader) + '\n';
  file_.write(line_.data(), line_.size());
}

void KaggleCsvWriter::add(const std::string& video_id, const float* scores, int64_t num_classes) {
  line_ = kaggle_csv_line(video_id, top_scores(scores, num_classes, top_k_));
  line_ += '\n';
  file_.write(line_.data(), line_.size());
  ++videos_;
}

void KaggleCsvWriter::commit() { file_.commit(); }

const KagglePredictions::Row* KagglePredictions::find(const std::string& video_id) const {
  auto it = index.find(video_id);
  return it == index.end() ? nullptr : &rows[it->second];
}

namespace {

// The space-separated fields of the pairs part; an empty field (two spaces, a leading or trailing space)
// is kept so that it is reported rather than silently skipped.
std::vector<std::string_view> split_spaces(std::string_view text) {
  std::vector<std::string_view> fields;
  if (text.empty()) return fields;
  size_t start = 0;
  while (true) {
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) {
      fields.push_back(text.substr(start));
      return fields;
    }
    fields.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

template <typename T>
bool parse_whole(std::string_view text, T& value) {
  if (text.empty()) return false;
  const char* begin = text.data();
  if constexpr (std::is_floating_point_v<T>) {
    if (*begin == '+') ++begin;  // from_chars rejects an explicit plus sign, %g never writes one
  }
  auto [end, error] = std::from_chars(begin, text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

KagglePredictions parse_kaggle_csv(std::istream& in, const std::string& name, int64_t num_classes) {
  KagglePredictions out;
  std::string line;
  int64_t number = 0;
  auto fail = [&](const std::string& reason) -> std::runtime_error {
    return std::runtime_error(fmt::format("{}:{}: {}", name, number, reason));
  };
  std::vector<char> seen(static_cast<size_t>(std::max<int64_t>(num_classes, 0)), 0);
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1) {
      if (line != kKaggleCsvHeader)
        throw fail(fmt::format("expected the header '{}', found '{}'", kKaggleCsvHeader, line.substr(0, 80)));
      continue;
    }
    if (line.empty()) throw fail("empty line");
    const size_t comma = line.find(',');
    if (comma == std::string::npos) throw fail("no comma between the video id and the label-score pairs");
    if (comma == 0) throw fail("empty video id");
    KagglePredictions::Row row;
    row.video_id = line.substr(0, comma);
    row.line = number;
    std::vector<std::string_view> fields = split_spaces(std::string_view(line).substr(comma + 1));
    if (fields.size() % 2 != 0)
      throw fail(fmt::format("video {}: {} fields after the comma; expected label score pairs", row.video_id,
                             fields.size()));
    for (size_t i = 0; i < fields.size(); i += 2) {
      int64_t label = 0;
      float score = 0.0f;
      if (!parse_whole(fields[i], label) || label < 0 || label >= num_classes)
        throw fail(fmt::format("video {}: label '{}' (pair {}) is not an integer in [0, {})", row.video_id,
                               fields[i], i / 2 + 1, num_classes));
      if (!parse_whole(fields[i + 1], score) || !std::isfinite(score))
        throw fail(fmt::format("video {}: score '{}' of label {} is not a finite number", row.video_id,
                               fields[i + 1], label));
      if (seen[size_t(label)]) throw fail(fmt::format("video {}: label {} appears twice", row.video_id, label));
      seen[size_t(label)] = 1;
      row.pairs.push_back({int32_t(label), score});
    }
    for (const LabelScore& pair : row.pairs) seen[size_t(pair.label)] = 0;
    auto [it, inserted] = out.index.emplace(row.video_id, out.rows.size());
    if (!inserted)
      throw fail(fmt::format("video {} already has a row at line {}", row.video_id, out.rows[it->second].line));
    out.rows.push_back(std::move(row));
  }
  if (in.bad()) throw std::runtime_error(name + ": read error after line " + std::to_string(number));
  if (number == 0) throw std::runtime_error(name + ": empty file; expected the header '" + kKaggleCsvHeader + "'");
  return out;
}

KagglePredictions read_kaggle_csv(const std::string& path, int64_t num_classes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open predictions CSV " + path);
  return parse_kaggle_csv(in, path, num_classes);
}

}  // namespace ff::tools
