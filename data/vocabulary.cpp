#include "data/vocabulary.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <numeric>
#include <stdexcept>

namespace ff::data {
namespace {

[[noreturn]] void fail(const std::string& path, size_t line, const std::string& reason) {
  throw std::runtime_error(path + ":" + std::to_string(line) + ": " + reason);
}

// RFC 4180 records: fields separated by commas, records by LF or CRLF; a quoted field may contain commas,
// line breaks and quotes written twice.
class CsvReader {
 public:
  CsvReader(const std::string& path, std::string text) : path_(path), text_(std::move(text)) {
    if (text_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = 3;  // UTF-8 byte order mark
  }

  // The next non-blank record and the line it starts on; false at the end.
  bool next(std::vector<std::string>& fields, size_t& line) {
    for (;;) {
      if (pos_ >= text_.size()) return false;
      line = line_;
      read_record(fields);
      if (!(fields.size() == 1 && fields[0].empty())) return true;
    }
  }

 private:
  void read_record(std::vector<std::string>& fields) {
    fields.clear();
    for (;;) {
      fields.emplace_back();
      std::string& field = fields.back();
      if (pos_ < text_.size() && text_[pos_] == '"') {
        size_t opening_line = line_;
        ++pos_;
        for (;;) {
          if (pos_ >= text_.size()) fail(path_, opening_line, "quoted field is not closed before the end of the file");
          char c = text_[pos_++];
          if (c == '"') {
            if (pos_ < text_.size() && text_[pos_] == '"') {
              field += '"';
              ++pos_;
              continue;
            }
            break;
          }
          if (c == '\n') ++line_;
          field += c;
        }
        if (pos_ < text_.size() && !is_delimiter(text_[pos_])) {
          fail(path_, line_, "unexpected character after the closing quote of field " + std::to_string(fields.size()));
        }
      } else {
        while (pos_ < text_.size() && !is_delimiter(text_[pos_])) {
          if (text_[pos_] == '"') fail(path_, line_, "quote inside unquoted field " + std::to_string(fields.size()));
          field += text_[pos_++];
        }
      }
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '\r') ++pos_;
      if (pos_ < text_.size() && text_[pos_] == '\n') {
        ++pos_;
        ++line_;
      }
      return;
    }
  }

  static bool is_delimiter(char c) { return c == ',' || c == '\n' || c == '\r'; }

  const std::string& path_;
  std::string text_;
  size_t pos_ = 0;
  size_t line_ = 1;
};

template <typename Int>
Int parse_integer(const std::string& text, const std::string& column, const std::string& path, size_t line) {
  Int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    fail(path, line, column + " '" + text + "' is not an integer");
  }
  return value;
}

}  // namespace

int64_t Vocabulary::total_train_video_count() const {
  int64_t total = 0;
  for (const VocabularyEntry& entry : entries) total += entry.train_video_count;
  return total;
}

Vocabulary load_vocabulary(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(path + ": cannot open the vocabulary file");
  CsvReader csv(path, std::string(std::istreambuf_iterator<char>(file), {}));

  std::vector<std::string> header, fields;
  size_t line = 1;
  if (!csv.next(header, line)) fail(path, 1, "empty file, expected a header row");
  auto column = [&](const char* name) {
    auto found = std::find(header.begin(), header.end(), name);
    if (found == header.end()) fail(path, line, std::string("missing column '") + name + "'");
    return size_t(found - header.begin());
  };
  size_t index_column = column("Index"), count_column = column("TrainVideoCount"),
         knowledge_graph_column = column("KnowledgeGraphId"), name_column = column("Name"),
         vertical_column = column("Vertical1");

  Vocabulary vocabulary;
  std::vector<size_t> lines;
  while (csv.next(fields, line)) {
    if (fields.size() != header.size()) {
      fail(path, line, "row has " + std::to_string(fields.size()) + " fields, the header " + std::to_string(header.size()));
    }
    VocabularyEntry entry;
    entry.index = parse_integer<int32_t>(fields[index_column], "Index", path, line);
    entry.train_video_count = parse_integer<int64_t>(fields[count_column], "TrainVideoCount", path, line);
    if (entry.index < 0) fail(path, line, "negative Index " + fields[index_column]);
    if (entry.train_video_count < 0) fail(path, line, "negative TrainVideoCount " + fields[count_column]);
    entry.knowledge_graph_id = fields[knowledge_graph_column];
    entry.name = fields[name_column];
    entry.vertical1 = fields[vertical_column];
    vocabulary.entries.push_back(std::move(entry));
    lines.push_back(line);
  }

  // Indices must be exactly 0..rows-1: they are the class ids in the records' labels.
  std::vector<size_t> order(vocabulary.entries.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return vocabulary.entries[a].index < vocabulary.entries[b].index; });
  std::vector<VocabularyEntry> sorted;
  sorted.reserve(order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    const VocabularyEntry& entry = vocabulary.entries[order[i]];
    if (i > 0 && entry.index == sorted.back().index) {
      fail(path, lines[order[i]], "duplicate Index " + std::to_string(entry.index) + " (also on line " +
                                      std::to_string(lines[order[i - 1]]) + ")");
    }
    if (size_t(entry.index) != i) {
      throw std::runtime_error(path + ": Index " + std::to_string(i) + " is missing (indices must be 0.." +
                               std::to_string(order.size() - 1) + ")");
    }
    sorted.push_back(entry);
  }
  vocabulary.entries = std::move(sorted);
  return vocabulary;
}

std::vector<int32_t> classes_by_frequency(const Vocabulary& vocabulary) {
  std::vector<int32_t> classes(vocabulary.size());
  std::iota(classes.begin(), classes.end(), 0);
  std::stable_sort(classes.begin(), classes.end(), [&](int32_t a, int32_t b) {
    return vocabulary[size_t(a)].train_video_count > vocabulary[size_t(b)].train_video_count;
  });
  return classes;
}

}  // namespace ff::data
