// The Kaggle submission CSV: top-k choice and line format as the starter code writes them, a written file
// read back unchanged, and every malformed line rejected with its line number.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "support/temporary_directory.h"
#include "tools/kaggle_csv.h"

namespace ff::tools {
namespace {

KagglePredictions parse(const std::string& text, int64_t num_classes = 10) {
  std::istringstream in(text);
  return parse_kaggle_csv(in, "sub.csv", num_classes);
}

std::string header() { return std::string(kKaggleCsvHeader) + "\n"; }

}  // namespace

TEST_CASE("top_scores keeps the k highest by descending score, equal scores by class", "[kaggle_csv]") {
  const float scores[] = {0.1f, 0.9f, 0.5f, 0.9f, 0.0f, 0.7f};
  CHECK(top_scores(scores, 6, 3) == std::vector<LabelScore>{{1, 0.9f}, {3, 0.9f}, {5, 0.7f}});
  CHECK(top_scores(scores, 6, 20).size() == 6);  // k beyond the classes: all of them, still sorted
  CHECK(top_scores(scores, 6, 20).back() == LabelScore{4, 0.0f});
  CHECK_THROWS_WITH(top_scores(scores, 6, 0), Catch::Contains("top_k must be >= 1"));
}

TEST_CASE("a line is the id, a comma and space-separated label %g-score pairs", "[kaggle_csv]") {
  CHECK(kaggle_csv_line("vid1", {{5, 0.9123f}, {17, 0.5f}, {3, 1e-5f}}) == "vid1,5 0.9123 17 0.5 3 1e-05");
  CHECK(kaggle_csv_line("02aa", {{3, 0.98123456f}}) == "02aa,3 0.981235");  // 6 significant digits
  CHECK(kaggle_csv_line("x", {}) == "x,");
  CHECK_THROWS_WITH(kaggle_csv_line("a,b", {}), Catch::Contains("'a,b'") && Catch::Contains("comma"));
  CHECK_THROWS_WITH(kaggle_csv_line("", {}), Catch::Contains("empty"));
  CHECK_THROWS_WITH(kaggle_csv_line("v", {{1, std::numeric_limits<float>::quiet_NaN()}}),
                    Catch::Contains("class 1") && Catch::Contains("not finite"));
}

TEST_CASE("a written CSV reads back as the videos' top-k pairs", "[kaggle_csv]") {
  test::TemporaryDirectory directory("ff_kaggle_csv");
  const std::string path = directory.file("predictions.csv");
  const int64_t classes = 30;
  std::vector<std::vector<float>> videos(3, std::vector<float>(classes));
  for (size_t v = 0; v < videos.size(); ++v)
    for (int64_t c = 0; c < classes; ++c) videos[v][size_t(c)] = float(std::fmod(0.37 * double(c + 7 * v) + 0.05, 1.0));
  const std::vector<std::string> ids = {"Ab3d", "0x9Z", "zzzz"};
  {
    KaggleCsvWriter writer(path, 20);
    for (size_t v = 0; v < videos.size(); ++v) writer.add(ids[v], videos[v].data(), classes);
    CHECK(writer.videos() == 3);
    CHECK_FALSE(std::filesystem::exists(path));  // nothing under the final name before commit()
    writer.commit();
  }
  std::ifstream in(path);
  std::string first_line;
  std::getline(in, first_line);
  CHECK(first_line == "VideoId,LabelConfidencePairs");

  KagglePredictions read = read_kaggle_csv(path, classes);
  REQUIRE(read.rows.size() == 3);
  for (size_t v = 0; v < videos.size(); ++v) {
    const KagglePredictions::Row* row = read.find(ids[v]);
    REQUIRE(row != nullptr);
    CHECK(row->line == int64_t(v) + 2);
    std::vector<LabelScore> expected = top_scores(videos[v].data(), classes, 20);
    REQUIRE(row->pairs.size() == 20);
    for (size_t i = 0; i < expected.size(); ++i) {
      CHECK(row->pairs[i].label == expected[i].label);
      CHECK(row->pairs[i].score == Approx(expected[i].score).epsilon(1e-5));  // %g keeps 6 digits
      if (i > 0) CHECK(row->pairs[i].score <= row->pairs[i - 1].score);
    }
  }
  CHECK(read.find("nope") == nullptr);
}

TEST_CASE("a writer destroyed without commit leaves the old file as it was", "[kaggle_csv]") {
  test::TemporaryDirectory directory("ff_kaggle_csv");
  const std::string path = directory.file("predictions.csv");
  std::ofstream(path) << "old\n";
  {
    KaggleCsvWriter writer(path, 20);
    const float scores[] = {0.5f, 0.25f};
    writer.add("v1", scores, 2);
    CHECK_THROWS_WITH(writer.add("bad id", scores, 2), Catch::Contains("'bad id'"));
  }
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text == "old\n");
  CHECK(directory.entries() == std::vector<std::string>{"predictions.csv"});  // no temporary left behind
}

TEST_CASE("parsing accepts the format's corners", "[kaggle_csv]") {
  KagglePredictions p = parse(header() + "a,1 0.5 2 0.25\r\nb,\nc,9 1e-05 0 +1\n");
  REQUIRE(p.rows.size() == 3);
  CHECK(p.rows[0].pairs == std::vector<LabelScore>{{1, 0.5f}, {2, 0.25f}});  // \r\n endings
  CHECK(p.rows[1].pairs.empty());                                             // a video with no pairs
  CHECK(p.rows[2].pairs == std::vector<LabelScore>{{9, 1e-5f}, {0, 1.0f}});
  CHECK(parse(header()).rows.empty());
  CHECK(parse(header() + "a,1 0.5").rows.size() == 1);  // no newline at the end
}

TEST_CASE("malformed lines are rejected with the file and line number", "[kaggle_csv]") {
  using Catch::Contains;
  CHECK_THROWS_WITH(parse(""), Contains("sub.csv: empty file"));
  CHECK_THROWS_WITH(parse("Id,Labels\n"), Contains("sub.csv:1: expected the header"));
  CHECK_THROWS_WITH(parse(header() + "a,1 0.5\nb 1 0.5\n"), Contains("sub.csv:3: no comma"));
  CHECK_THROWS_WITH(parse(header() + ",1 0.5\n"), Contains("sub.csv:2: empty video id"));
  CHECK_THROWS_WITH(parse(header() + "a,1 0.5 2\n"), Contains("sub.csv:2: video a: 3 fields"));
  CHECK_THROWS_WITH(parse(header() + "a,1  0.5\n"), Contains("sub.csv:2:"));  // double space: an empty field
  CHECK_THROWS_WITH(parse(header() + "a,1 0.5 \n"), Contains("sub.csv:2:"));  // trailing space
  CHECK_THROWS_WITH(parse(header() + "a,10 0.5\n"), Contains("sub.csv:2: video a: label '10' (pair 1) is not an integer in [0, 10)"));
  CHECK_THROWS_WITH(parse(header() + "a,1 0.5 -1 0.5\n"), Contains("label '-1' (pair 2)"));
  CHECK_THROWS_WITH(parse(header() + "a,1.5 0.5\n"), Contains("label '1.5'"));
  CHECK_THROWS_WITH(parse(header() + "a,1 high\n"), Contains("sub.csv:2: video a: score 'high' of label 1"));
  CHECK_THROWS_WITH(parse(header() + "a,1 nan\n"), Contains("score 'nan'"));
  CHECK_THROWS_WITH(parse(header() + "a,1 0.5x\n"), Contains("score '0.5x'"));
  CHECK_THROWS_WITH(parse(header() + "a,1 0.5 1 0.25\n"), Contains("sub.csv:2: video a: label 1 appears twice"));
  CHECK_THROWS_WITH(parse(header() + "a,1 0.5\nb,2 0.5\na,3 0.5\n"), Contains("sub.csv:4: video a already has a row at line 2"));
  CHECK_THROWS_WITH(parse(header() + "a,1 0.5\n\nb,2 0.5\n"), Contains("sub.csv:3: empty line"));
  CHECK_THROWS_WITH(read_kaggle_csv("/nonexistent/sub.csv", 10), Contains("cannot open predictions CSV /nonexistent/sub.csv"));
}

TEST_CASE("a label repeated on another line is no repeat", "[kaggle_csv]") {
  KagglePredictions p = parse(header() + "a,1 0.5 2 0.4\nb,1 0.3 2 0.2\n");
  CHECK(p.rows.size() == 2);
}

}  // namespace ff::tools
