// Checkpoints of `fewerframes train` loaded for eval and infer: the architecture comes from the metadata
// "model_config", the frame view from the mode and the run's config (or an override), a parallel run's
// co-trained teacher is ignored, and the loaded model scores exactly as the trainer did. Also the label
// reading that scores a predictions CSV and counts class frequencies.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "data/synthetic_records.h"
#include "data/synthetic_video.h"
#include "data/tfrecord.h"
#include "engine/safetensors.h"
#include "models/trainer.h"
#include "support/temporary_directory.h"
#include "tools/batch_tensors.h"
#include "tools/trained_model.h"
#include "tools/video_labels.h"

namespace ff::tools {
namespace {

constexpr int64_t kRgb = 16, kAudio = 8, kClasses = 7, kMaxFrames = 24, kVideos = 20;

data::YouTube8MLayout tiny_layout() {
  data::YouTube8MLayout layout;
  layout.frame_features = {{"rgb", kRgb}, {"audio", kAudio}};
  layout.video_features = {{"mean_rgb", kRgb}, {"mean_audio", kAudio}};
  layout.num_classes = kClasses;
  return layout;
}

std::vector<data::SyntheticVideo> tiny_videos() {
  data::SyntheticVideoConfig config;
  config.num_classes = kClasses;
  config.rgb_size = kRgb;
  config.audio_size = kAudio;
  config.min_frames = 6;
  config.max_frames = kMaxFrames;
  config.seed = 3;
  data::SyntheticVideoGenerator generator(config);
  std::vector<data::SyntheticVideo> videos;
  for (int64_t i = 0; i < kVideos; ++i) videos.push_back(generator.generate(uint64_t(i)));
  return videos;
}

// A run directory as `fewerframes train` leaves it: frame-level and video-level files of the same videos,
// and a checkpoint of `mode` trained for a few steps, with the metadata train writes.
struct TinyRun {
  test::TemporaryDirectory directory{"ff_trained_model"};
  std::vector<data::SyntheticVideo> videos = tiny_videos();
  std::string frames = directory.file("frames.tfrecord"), means = directory.file("means.tfrecord");
  std::string checkpoint = directory.file("checkpoint.safetensors");
  std::unique_ptr<models::Trainer> trainer;

  explicit TinyRun(models::TrainingMode mode, nlohmann::json run_config = {{"sampler", "uniform"}, {"k", 4},
                                                                          {"max-frames", kMaxFrames}, {"seed", 5},
                                                                          {"layout", 2018}}) {
    data::TFRecordWriter frame_writer(frames), video_writer(means);
    for (const data::SyntheticVideo& v : videos) {
      frame_writer.write(data::encode_frame_level(data::frame_level_record(v), tiny_layout()));
      video_writer.write(data::encode_video_level(data::video_level_record(v), tiny_layout()));
    }
    frame_writer.close();
    video_writer.close();

    models::TrainerConfig config;
    config.mode = mode;
    config.model.rgb_feature_size = kRgb;
    config.model.audio_feature_size = kAudio;
    config.model.max_frames = kMaxFrames;
    config.model.cluster_size = 4;
    config.model.groups = 2;
    config.model.hidden_size = 8;
    config.model.gating_reduction = 2;
    config.model.num_classes = kClasses;
    config.schedule = LearningRateSchedule::constant(1e-2);
    if (mode == models::TrainingMode::Parallel) config.weights = {1.0, 1.0, 0.0};
    trainer = std::make_unique<models::Trainer>(config);
    data::Loader loader(loader_options(data::SamplerSpec{data::FrameSampler::Uniform, 4, kMaxFrames}));
    data::Batch batch;
    for (int step = 0; step < 3 && loader.next(batch); ++step)  // moves the batch-norm statistics too
      trainer->step(training_batch(batch, tiny_layout(), "all", "sampled", Device::cpu()));
    trainer->save(checkpoint, {{"config", run_config.dump()}});  // save() adds "model_config"
  }

  data::LoaderOptions loader_options(const data::SamplerSpec& sampled) const {
    data::LoaderOptions o;
    o.patterns = {frames};
    o.layout = tiny_layout();
    o.views = {{"all", {data::FrameSampler::All, 0, kMaxFrames}}, {"sampled", sampled}};
    o.batch_size = 8;
    o.seed = 5;
    return o;
  }
};

// Every score predict_files gives, by video id.
std::map<std::string, std::vector<float>> scores_by_id(const TrainedModel& model, const std::string& file) {
  std::map<std::string, std::vector<float>> out;
  PredictOptions options;
  options.patterns = {file};
  options.batch_size = 6;  // not a divisor of the video count: the last batch is short
  model.predict_files(options, [&](const data::Batch& batch, const std::vector<float>& scores) {
    REQUIRE(int64_t(scores.size()) == batch.size * kClasses);
    for (int64_t i = 0; i < batch.size; ++i)
      out[batch.ids[size_t(i)]].assign(scores.begin() + i * kClasses, scores.begin() + (i + 1) * kClasses);
  });
  return out;
}

// What the trainer itself predicts for every video, reading the view `view_name` of the run's loader.
std::map<std::string, std::vector<float>> trainer_scores(TinyRun& run, const std::string& view_name) {
  std::map<std::string, std::vector<float>> out;
  data::Loader loader(run.loader_options(data::SamplerSpec{data::FrameSampler::Uniform, 4, kMaxFrames}));
  data::Batch batch;
  while (loader.next(batch)) {
    models::TrainingBatch tensors = training_batch(batch, tiny_layout(), "all", "sampled", Device::cpu());
    if (view_name == "all") tensors.sampled = tensors.full;  // a student scored on every frame
    std::vector<float> scores = run.trainer->predict(tensors).to_vector<float>();
    for (int64_t i = 0; i < batch.size; ++i)
      out[batch.ids[size_t(i)]].assign(scores.begin() + i * kClasses, scores.begin() + (i + 1) * kClasses);
  }
  return out;
}

// The largest absolute difference of two score maps over the same videos.
double max_difference(const std::map<std::string, std::vector<float>>& a,
                      const std::map<std::string, std::vector<float>>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (const auto& [id, scores] : a) {
    REQUIRE(b.count(id));
    const std::vector<float>& other = b.at(id);
    REQUIRE(other.size() == scores.size());
    for (size_t c = 0; c < scores.size(); ++c) worst = std::max(worst, std::abs(double(scores[c]) - other[c]));
  }
  return worst;
}

// The loader batches 6 videos, the trainer's loader 8: BLAS blocks the two GEMM shapes differently, which
// moves the last bit of a score (seen: 6e-8). A wrong weight or a wrong frame view moves it far more.
constexpr double kSameScores = 1e-6;

}  // namespace

TEST_CASE("a teacher checkpoint loads with its architecture and reads every frame", "[trained_model]") {
  TinyRun run(models::TrainingMode::Teacher);
  TrainedModel model(run.checkpoint, Device::cpu());
  CHECK(model.mode() == "teacher");
  CHECK(model.config().cluster_size == 4);
  CHECK(model.config().hidden_size == 8);
  CHECK(model.num_classes() == kClasses);
  CHECK(model.layout().frame_features[0].size == kRgb);
  CHECK(model.frame_view().kind == data::FrameSampler::All);
  CHECK(model.frame_view_description() == "all frames (max 24)");
  std::map<std::string, std::vector<float>> scores = scores_by_id(model, run.frames);
  CHECK(scores.size() == size_t(kVideos));
  CHECK(max_difference(scores, trainer_scores(run, "all")) < kSameScores);
}

TEST_CASE("a parallel checkpoint is its student, on the run's sampler, unless overridden", "[trained_model]") {
  TinyRun run(models::TrainingMode::Parallel);
  // The checkpoint holds the co-trained teacher too; it must be there for this test to mean anything.
  bool has_teacher = false;
  for (const auto& [name, tensor] : read_safetensors(run.checkpoint).tensors)
    has_teacher = has_teacher || name.rfind("parallel_teacher/", 0) == 0;
  REQUIRE(has_teacher);

  TrainedModel student(run.checkpoint, Device::cpu());
  CHECK(student.mode() == "parallel");
  CHECK(student.frame_view().kind == data::FrameSampler::Uniform);
  CHECK(student.frame_view().k == 4);
  CHECK(student.frame_view_description() == "uniform k=4 (max 24)");
  std::map<std::string, std::vector<float>> sampled = scores_by_id(student, run.frames);
  CHECK(max_difference(sampled, trainer_scores(run, "sampled")) < kSameScores);

  TrainedModel on_all_frames(run.checkpoint, Device::cpu(), {"all", 0});
  CHECK(on_all_frames.frame_view().kind == data::FrameSampler::All);
  std::map<std::string, std::vector<float>> all = scores_by_id(on_all_frames, run.frames);
  CHECK(max_difference(all, trainer_scores(run, "all")) < kSameScores);
  CHECK(max_difference(all, sampled) > 1e-3);  // the two views do differ, so the checks above tell them apart

  TrainedModel other_k(run.checkpoint, Device::cpu(), {"", 2});
  CHECK(other_k.frame_view().kind == data::FrameSampler::Uniform);
  CHECK(other_k.frame_view().k == 2);
}

TEST_CASE("a student checkpoint without its run's sampler needs one", "[trained_model]") {
  TinyRun run(models::TrainingMode::Uniform, nlohmann::json::object());
  CHECK_THROWS_WITH(TrainedModel(run.checkpoint, Device::cpu()),
                    Catch::Contains("does not say which frame sampler") && Catch::Contains("--sampler"));
  CHECK_THROWS_WITH(TrainedModel(run.checkpoint, Device::cpu(), {"first", 0}), Catch::Contains("needs k >= 1"));
  TrainedModel model(run.checkpoint, Device::cpu(), {"first", 3});
  CHECK(model.frame_view_description() == "first k=3 (max 24)");
}

TEST_CASE("checkpoints that are not fewerframes train's are refused, naming the file", "[trained_model]") {
  TinyRun run(models::TrainingMode::Teacher);
  CHECK_THROWS_WITH(TrainedModel(run.directory.file("absent.safetensors"), Device::cpu()),
                    Catch::Contains("cannot open checkpoint") && Catch::Contains("absent.safetensors"));

  SafetensorsContents contents = read_safetensors(run.checkpoint);
  auto rewrite = [&](const std::string& name, StringMap metadata) {
    std::string path = run.directory.file(name);
    write_safetensors(path, contents.tensors, metadata);
    return path;
  };
  StringMap without_config = contents.metadata;
  without_config.erase("model_config");
  CHECK_THROWS_WITH(TrainedModel(rewrite("a.safetensors", without_config), Device::cpu()),
                    Catch::Contains("a.safetensors lacks the metadata key 'model_config'"));

  StringMap other_size = contents.metadata;
  nlohmann::json model_config = nlohmann::json::parse(other_size["model_config"]);
  model_config["hidden_size"] = 16;
  other_size["model_config"] = model_config.dump();
  CHECK_THROWS_WITH(TrainedModel(rewrite("b.safetensors", other_size), Device::cpu()),
                    Catch::Contains("b.safetensors") && Catch::Contains("hidden.weight"));

  StringMap unknown_field = contents.metadata;
  model_config = nlohmann::json::parse(unknown_field["model_config"]);
  model_config["experts"] = 4;
  unknown_field["model_config"] = model_config.dump();
  CHECK_THROWS_WITH(TrainedModel(rewrite("c.safetensors", unknown_field), Device::cpu()),
                    Catch::Contains("c.safetensors: metadata 'model_config'") && Catch::Contains("experts"));

  std::ofstream(run.directory.file("short.safetensors")) << "abc";
  CHECK_THROWS_WITH(TrainedModel(run.directory.file("short.safetensors"), Device::cpu()),
                    Catch::Contains("short.safetensors: the file is shorter than 8 bytes"));
}

TEST_CASE("labels are read from frame-level and video-level files alike", "[trained_model][video_labels]") {
  TinyRun run(models::TrainingMode::Teacher);
  std::vector<int64_t> expected(kClasses, 0);
  for (const data::SyntheticVideo& v : run.videos)
    for (int32_t label : v.labels) ++expected[size_t(label)];
  CHECK(count_class_labels({run.frames}, tiny_layout()) == expected);
  CHECK(count_class_labels({run.means}, tiny_layout()) == expected);

  std::vector<std::string> ids;
  int64_t frame_level = 0;
  for_each_labeled_video({run.frames, run.means}, tiny_layout(), {}, [&](const LabeledVideo& video) {
    const data::SyntheticVideo& written = run.videos[ids.size() % size_t(kVideos)];  // both files, in order
    ids.emplace_back(video.id);
    CHECK(video.id == written.id);
    CHECK(*video.labels == written.labels);
    if (video.frames >= 0) {
      ++frame_level;
      CHECK(video.frames == written.num_frames);
    }
  });
  CHECK(ids.size() == size_t(2 * kVideos));
  CHECK(frame_level == kVideos);

  CHECK_THROWS_WITH(vocabulary_class_counts(FF_SOURCE_DIR "/data/youtube8m_vocabulary.csv", kClasses),
                    Catch::Contains("has 3862 classes; the labels have 7"));
  CHECK(vocabulary_class_counts(FF_SOURCE_DIR "/data/youtube8m_vocabulary.csv", 3862).size() == 3862);
}

}  // namespace ff::tools
