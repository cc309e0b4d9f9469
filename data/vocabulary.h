// The YouTube-8M label vocabulary (vocabulary.csv: Index, TrainVideoCount, KnowledgeGraphId, Name, WikiUrl,
// Vertical1, Vertical2, Vertical3, WikiDescription). Parsed as RFC 4180 CSV: quoted fields may hold
// commas, doubled quotes and line breaks (the descriptions do).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ff::data {

struct VocabularyEntry {
  int32_t index = 0;  // the class id used in records' labels
  int64_t train_video_count = 0;
  std::string knowledge_graph_id;
  std::string name;
  std::string vertical1;
};

struct Vocabulary {
  std::vector<VocabularyEntry> entries;  // entries[i].index == i

  size_t size() const { return entries.size(); }
  const VocabularyEntry& operator[](size_t index) const { return entries[index]; }
  int64_t total_train_video_count() const;
};

// Throws std::runtime_error "<path>:<line>: <reason>" for an unreadable file, a missing column, a row
// with the wrong number of fields, a non-integer Index/TrainVideoCount, broken quoting, or indices that
// are not exactly 0..rows-1.
Vocabulary load_vocabulary(const std::string& path);

// Class indices from the most to the least frequent in training (TrainVideoCount), ties by index.
std::vector<int32_t> classes_by_frequency(const Vocabulary& vocabulary);

}  // namespace ff::data
