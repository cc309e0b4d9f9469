// The label vocabulary: the real 2018 file, RFC 4180 quoting, and errors that name file and line.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>

#include "data/vocabulary.h"
#include "support/temporary_directory.h"

namespace ff::data {
namespace {

using Catch::Matchers::Contains;

const char* kHeader = "Index,TrainVideoCount,KnowledgeGraphId,Name,WikiUrl,Vertical1,Vertical2,Vertical3,WikiDescription\n";

std::string write_file(const test::TemporaryDirectory& directory, const std::string& text) {
  std::string path = directory.file("vocabulary.csv");
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string error_of(const std::string& path) {
  try {
    load_vocabulary(path);
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("the real 2018 vocabulary loads", "[vocabulary]") {
  const std::string shared = FF_SOURCE_DIR "/data/youtube8m_vocabulary.csv";  // the real 2018 file, shipped
  INFO("vocabulary at " << shared);
  Vocabulary vocabulary = load_vocabulary(shared);
  REQUIRE(vocabulary.size() == 3862);
  CHECK(vocabulary[0].index == 0);
  CHECK(vocabulary[0].name == "Game");
  CHECK(vocabulary[0].train_video_count == 788288);
  CHECK(vocabulary[0].vertical1 == "Games");
  CHECK(vocabulary[0].knowledge_graph_id == "/m/03bt1gh");
  CHECK(vocabulary[1].name == "Video game");
  CHECK(vocabulary[2].name == "Vehicle");
  CHECK(vocabulary[2].vertical1 == "Autos & Vehicles");
  CHECK(vocabulary[3].name == "Concert");
  CHECK(vocabulary[4].name == "Musician");
  CHECK(vocabulary[3861].index == 3861);
  CHECK(vocabulary.total_train_video_count() == 11711620);
  std::set<std::string> verticals;
  for (const VocabularyEntry& entry : vocabulary.entries) verticals.insert(entry.vertical1);
  CHECK(verticals.size() == 25);

  std::vector<int32_t> by_frequency = classes_by_frequency(vocabulary);
  REQUIRE(by_frequency.size() == 3862);
  CHECK(by_frequency.front() == 0);  // Game is the most frequent class
  CHECK(std::set<int32_t>(by_frequency.begin(), by_frequency.end()).size() == 3862);
  for (size_t i = 1; i < by_frequency.size(); ++i) {
    const VocabularyEntry& before = vocabulary[size_t(by_frequency[i - 1])];
    const VocabularyEntry& after = vocabulary[size_t(by_frequency[i])];
    REQUIRE((before.train_video_count > after.train_video_count ||
             (before.train_video_count == after.train_video_count && before.index < after.index)));
  }
}

TEST_CASE("quoted fields keep commas, doubled quotes and line breaks", "[vocabulary]") {
  test::TemporaryDirectory directory;
  std::string path = write_file(directory, std::string(kHeader) +
                                               "1,5,/m/b,\"Rock, \"\"classic\"\"\",u,Music,,,\"two\nlines, \"\"quoted\"\"\"\r\n"
                                               "0,9,/m/a,Plain,u,\"Arts, Entertainment\",,,\"\"\n"
                                               "\n");
  Vocabulary vocabulary = load_vocabulary(path);
  REQUIRE(vocabulary.size() == 2);
  CHECK(vocabulary[0].name == "Plain");
  CHECK(vocabulary[0].vertical1 == "Arts, Entertainment");
  CHECK(vocabulary[1].name == "Rock, \"classic\"");
  CHECK(vocabulary[1].vertical1 == "Music");
  CHECK(vocabulary[1].train_video_count == 5);
  CHECK(classes_by_frequency(vocabulary) == std::vector<int32_t>{0, 1});
}

TEST_CASE("a malformed vocabulary names the file and the line", "[vocabulary]") {
  test::TemporaryDirectory directory;
  std::string header = kHeader;
  std::string good_row = "0,1,/m/a,A,u,V,,,\"multi\nline\"\n";  // spans lines 2-3
  auto error_for = [&](const std::string& text) { return error_of(write_file(directory, text)); };
  std::string path = directory.file("vocabulary.csv");

  CHECK(error_for(header + good_row + "1,2,/m/b,B,u,V,,\n") == path + ":4: row has 8 fields, the header 9");
  CHECK(error_for(header + good_row + "1,lots,/m/b,B,u,V,,,d\n") == path + ":4: TrainVideoCount 'lots' is not an integer");
  CHECK(error_for(header + good_row + "x1,2,/m/b,B,u,V,,,d\n") == path + ":4: Index 'x1' is not an integer");
  CHECK(error_for(header + good_row + "1,2,/m/b,\"B,u,V,,,d\n") ==
        path + ":4: quoted field is not closed before the end of the file");
  CHECK(error_for(header + good_row + "1,2,/m/b,\"B\"x,u,V,,,d\n") ==
        path + ":4: unexpected character after the closing quote of field 4");
  CHECK(error_for(header + good_row + "1,2,/m/b,B\"x,u,V,,,d\n") == path + ":4: quote inside unquoted field 4");
  CHECK(error_for(header + good_row + "0,2,/m/b,B,u,V,,,d\n") == path + ":4: duplicate Index 0 (also on line 2)");
  CHECK(error_for(header + good_row + "2,2,/m/b,B,u,V,,,d\n") ==
        path + ": Index 1 is missing (indices must be 0..1)");
  CHECK(error_for("Index,Name\n0,A\n") == path + ":1: missing column 'TrainVideoCount'");
  CHECK(error_for("") == path + ":1: empty file, expected a header row");
  CHECK_THAT(error_of(directory.file("absent.csv")), Contains("absent.csv") && Contains("cannot open"));
}

}  // namespace ff::data
