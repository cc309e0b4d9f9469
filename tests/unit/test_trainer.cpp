// The trainer on a tiny synthetic data set read by the real loader: teacher, uniform and student runs
// lower their losses, and a run stopped and resumed from its checkpoint equals an unbroken one bit for bit.
#include <catch2/catch.hpp>

#include <cstring>

#include "data/loader.h"
#include "engine/metrics.h"
#include "data/synthetic_records.h"
#include "data/synthetic_video.h"
#include "tools/batch_tensors.h"
#include "models/trainer.h"
#include "support/temporary_directory.h"

namespace ff::models {
namespace {

constexpr int64_t kRgb = 16, kAudio = 8, kClasses = 10, kMaxFrames = 30;

data::YouTube8MLayout tiny_layout() {
  data::YouTube8MLayout layout;
  layout.frame_features = {{"rgb", kRgb}, {"audio", kAudio}};
  layout.num_classes = kClasses;
  return layout;
}

struct TinyData {
  test::TemporaryDirectory directory{"ff_trainer_test"};
  TinyData() {
    data::SyntheticVideoConfig config;
    config.num_classes = kClasses;
    config.rgb_size = kRgb;
    config.audio_size = kAudio;
    config.min_frames = 10;
    config.max_frames = kMaxFrames;
    config.signal_strength = 0.6f;  // strong enough for a few dozen steps to show learning
    config.seed = 11;
    data::SyntheticVideoGenerator generator(config);
    uint64_t index = 0;
    // Two training files of 64 videos, then one held-out validation file of 64 other videos.
    for (int f = 0; f < 3; ++f) {
      data::TFRecordWriter writer(directory.file((f < 2 ? "train000" : "validate000") + std::to_string(f) + ".tfrecord"));
      for (int i = 0; i < 64; ++i) {
        data::SyntheticVideo v = generator.generate(index++);
        writer.write(data::encode_frame_level(data::frame_level_record(v), tiny_layout()));
      }
      writer.close();
    }
  }
  data::LoaderOptions options() const {
    data::LoaderOptions o;
    o.patterns = {directory.file("train*.tfrecord")};
    o.layout = tiny_layout();
    o.views = {{"all", {data::FrameSampler::All, 0, kMaxFrames}}, {"sampled", {data::FrameSampler::Uniform, 4, kMaxFrames}}};
    o.batch_size = 16;
    o.shuffle_buffer = 32;
    o.seed = 5;
    return o;
  }
};

// The next batch, moving to the next epoch at the end of one; converted as `fewerframes train` does.
TrainingBatch next_batch(data::Loader& loader) {
  data::Batch batch;
  if (!loader.next(batch)) {
    loader.next_epoch();
    REQUIRE(loader.next(batch));
  }
  return tools::training_batch(batch, tiny_layout(), "all", "sampled", Device::cpu());
}

TrainerConfig tiny_config(TrainingMode mode) {
  TrainerConfig c;
  c.mode = mode;
  c.model.rgb_feature_size = kRgb;
  c.model.audio_feature_size = kAudio;
  c.model.max_frames = kMaxFrames;
  c.model.cluster_size = 8;
  c.model.groups = 2;
  c.model.expansion = 2;
  c.model.hidden_size = 32;
  c.model.gating_reduction = 4;
  c.model.num_classes = kClasses;
  c.schedule = LearningRateSchedule::constant(3e-3);
  c.seed = 9;
  return c;
}

// Mean loss of the first and of the last `window` steps of a run of `steps` steps.
std::pair<double, double> first_and_last_loss(Trainer& trainer, data::Loader& loader, int steps, int window) {
  double first = 0, last = 0;
  for (int s = 0; s < steps; ++s) {
    double loss = trainer.step(next_batch(loader)).total;
    if (s < window) first += loss / window;
    if (s >= steps - window) last += loss / window;
  }
  return {first, last};
}

std::vector<std::vector<float>> weights_of(Trainer& trainer) {
  std::vector<std::vector<float>> out;
  for (const Parameter& p : trainer.model().parameters().all()) out.push_back(p.value.to_vector<float>());
  return out;
}

}  // namespace

TEST_CASE("teacher and uniform training lower the label loss", "[trainer]") {
  TinyData data;
  for (TrainingMode mode : {TrainingMode::Teacher, TrainingMode::Uniform}) {
    data::Loader loader(data.options());
    Trainer trainer(tiny_config(mode));
    auto [first, last] = first_and_last_loss(trainer, loader, 30, 5);
    INFO(training_mode_name(mode) << ": first " << first << ", last " << last);
    CHECK(last < 0.8 * first);
    CHECK(trainer.step_count() == 30);
    CHECK(trainer.examples_seen() == 30 * 16);
  }
}

TEST_CASE("a trained teacher's GAP clearly beats the class-prior predictor", "[trainer]") {
  TinyData data;
  data::Loader loader(data.options());
  Trainer teacher(tiny_config(TrainingMode::Teacher));
  std::vector<double> positives(kClasses, 0.0);
  double training_videos = 0;
  for (int s = 0; s < 60; ++s) {
    TrainingBatch batch = next_batch(loader);
    teacher.step(batch);
    std::vector<float> labels = batch.labels.to_vector<float>();
    for (size_t i = 0; i < labels.size(); ++i) positives[i % kClasses] += labels[i];
    training_videos += double(batch.size());
  }
  // The constant predictor that knows only how often each class occurs in training.
  std::vector<float> prior(kClasses);
  for (int64_t c = 0; c < kClasses; ++c) prior[c] = float(positives[c] / training_videos);

  data::LoaderOptions validation = data.options();
  validation.patterns = {data.directory.file("validate*.tfrecord")};
  validation.shuffle_buffer = 0;
  data::Loader validation_loader(validation);
  MetricsAccumulator model_metrics(kClasses, 20), prior_metrics(kClasses, 20);
  data::Batch batch;
  while (validation_loader.next(batch)) {
    std::vector<float> scores = teacher.predict(tools::training_batch(batch, tiny_layout(), "all", "", Device::cpu()))
                                    .to_vector<float>();
    model_metrics.add(scores.data(), batch.multi_hot.data(), batch.size);
    std::vector<float> constant;
    for (int64_t v = 0; v < batch.size; ++v) constant.insert(constant.end(), prior.begin(), prior.end());
    prior_metrics.add(constant.data(), batch.multi_hot.data(), batch.size);
  }
  MetricsResult model = model_metrics.result(), baseline = prior_metrics.result();
  INFO("teacher GAP " << model.gap << " mAP " << model.map << "; class prior GAP " << baseline.gap << " mAP "
                      << baseline.map);
  REQUIRE(model.examples == 64);
  CHECK(model.gap > baseline.gap + 0.15);
  CHECK(model.map > baseline.map + 0.15);
}

TEST_CASE("a student lowers every combination of distillation losses", "[trainer]") {
  TinyData data;
  const std::string teacher_path = data.directory.file("teacher.safetensors");
  {
    data::Loader loader(data.options());
    Trainer teacher(tiny_config(TrainingMode::Teacher));
    for (int s = 0; s < 20; ++s) teacher.step(next_batch(loader));
    teacher.save(teacher_path);
  }
  const LossWeights combinations[] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}, {1, 0, 1}, {0, 1, 1}, {1, 1, 1}};
  for (const LossWeights& weights : combinations) {
    for (PredictionLoss kind : {PredictionLoss::CategoricalKL, PredictionLoss::BernoulliKL}) {
      if (weights.prediction == 0 && kind != PredictionLoss::CategoricalKL) continue;
      TrainerConfig config = tiny_config(TrainingMode::Student);
      config.teacher_checkpoint = teacher_path;
      config.weights = weights;
      config.prediction_loss = kind;
      config.temperature = 2.0;
      data::Loader loader(data.options());
      Trainer student(config);
      auto [first, last] = first_and_last_loss(student, loader, 20, 4);
      INFO("weights label " << weights.label << " prediction " << weights.prediction << " representation "
                            << weights.representation << ", " << prediction_loss_name(kind) << ": first " << first
                            << ", last " << last);
      CHECK(last < 0.85 * first);
    }
  }
}

TEST_CASE("a student can share the teacher's frozen classifier and distil the hidden vector", "[trainer]") {
  TinyData data;
  const std::string teacher_path = data.directory.file("teacher.safetensors");
  {
    data::Loader loader(data.options());
    Trainer teacher(tiny_config(TrainingMode::Teacher));
    for (int s = 0; s < 10; ++s) teacher.step(next_batch(loader));
    teacher.save(teacher_path);
  }
  Trainer teacher_copy(tiny_config(TrainingMode::Teacher));
  teacher_copy.resume(teacher_path);
  auto classifier_of = [](Trainer& trainer) {
    std::vector<std::vector<float>> values;
    for (const Parameter& p : trainer.model().parameters().all())
      if (p.name.rfind("classifier.", 0) == 0) values.push_back(p.value.to_vector<float>());
    return values;
  };

  TrainerConfig config = tiny_config(TrainingMode::Student);
  config.teacher_checkpoint = teacher_path;
  config.weights = {1, 0, 1};
  config.representation = Representation::Hidden;
  config.share_classifier = true;
  data::Loader loader(data.options());
  Trainer student(config);
  REQUIRE(classifier_of(student) == classifier_of(teacher_copy));
  auto [first, last] = first_and_last_loss(student, loader, 20, 4);
  INFO("first " << first << ", last " << last);
  CHECK(last < 0.85 * first);
  // Frozen: twenty steps later the student's classifier is still exactly the teacher's.
  CHECK(classifier_of(student) == classifier_of(teacher_copy));

  // The hidden vector has H entries per video, the VLAD encoding many more: the two representation
  // losses of the same untrained student on the same batch differ.
  auto representation_loss = [&](Representation representation) {
    TrainerConfig c = tiny_config(TrainingMode::Student);
    c.teacher_checkpoint = teacher_path;
    c.weights = {0, 0, 1};
    c.representation = representation;
    data::Loader l(data.options());
    Trainer t(c);
    return t.step(next_batch(l)).representation;
  };
  CHECK(representation_loss(Representation::Hidden) != Approx(representation_loss(Representation::Vlad)));

  TrainerConfig uniform = tiny_config(TrainingMode::Uniform);
  uniform.share_classifier = true;
  CHECK_THROWS_WITH(validate(uniform), Catch::Matchers::Contains("needs student mode"));
}

TEST_CASE("an ensemble teacher, its student and a parallel pair train with on-the-fly distillation",
          "[trainer][ensemble]") {
  TinyData data;
  auto ensemble_config = [](TrainingMode mode) {
    TrainerConfig c = tiny_config(mode);
    c.model.ensemble_size = 3;
    return c;
  };
  const std::string teacher_path = data.directory.file("ensemble_teacher.safetensors");
  {
    data::Loader loader(data.options());
    Trainer teacher(ensemble_config(TrainingMode::Teacher));
    REQUIRE(teacher.is_ensemble());
    StepLosses first_step = teacher.step(next_batch(loader));
    // The total is the mixture's label loss plus the branches' labels and their weighted KL to the mixture.
    CHECK(first_step.ensemble_label > 0);
    CHECK(first_step.ensemble_kl > 0);
    CHECK(first_step.total == Approx(first_step.label + first_step.ensemble_label + 9.0 * first_step.ensemble_kl));
    auto [first, last] = first_and_last_loss(teacher, loader, 30, 5);
    INFO("ensemble teacher: first " << first << ", last " << last);
    CHECK(last < 0.8 * first);
    teacher.save(teacher_path);
  }
  TrainerConfig student_config = ensemble_config(TrainingMode::Student);
  student_config.teacher_checkpoint = teacher_path;
  student_config.weights = {1, 1, 0.01};
  student_config.share_classifier = true;  // each branch takes its counterpart's classifier
  {
    data::Loader loader(data.options());
    Trainer student(student_config);
    int frozen = 0;
    for (const Parameter& p : student.model().parameters().all()) {
      const bool buffer = p.name.find("running_") != std::string::npos;  // never trainable
      if (!p.trainable && !buffer) {
        CHECK(p.name.find(".classifier.") != std::string::npos);
        ++frozen;
      }
    }
    CHECK(frozen == 3 * 2);  // weight and bias of three branches
    {
      // Distillation without labels: the branches' label losses are weighted by the run's label weight.
      TrainerConfig unlabelled = student_config;
      unlabelled.weights = {0, 1, 0.01};
      unlabelled.share_classifier = false;
      data::Loader l(data.options());
      Trainer t(unlabelled);
      StepLosses step = t.step(next_batch(l));
      CHECK(step.ensemble_label > 0);  // measured, not trained on
      CHECK(step.total == Approx(step.prediction + 0.01 * step.representation + 9.0 * step.ensemble_kl));
    }
    auto [first, last] = first_and_last_loss(student, loader, 20, 4);
    INFO("ensemble student: first " << first << ", last " << last);
    CHECK(last < 0.85 * first);
  }
  {
    data::Loader loader(data.options());
    TrainerConfig parallel = ensemble_config(TrainingMode::Parallel);
    parallel.weights = {1, 1, 0};
    Trainer pair(parallel);
    auto [first, last] = first_and_last_loss(pair, loader, 20, 4);
    INFO("ensemble parallel: first " << first << ", last " << last);
    CHECK(last < 0.85 * first);
  }
  // A run whose architecture differs from its teacher's is told which field differs.
  TrainerConfig single_student = tiny_config(TrainingMode::Student);
  single_student.teacher_checkpoint = teacher_path;
  CHECK_THROWS_WITH(Trainer(single_student), Catch::Matchers::Contains("ensemble_size 3 (this run 1)"));
  Trainer single_teacher(tiny_config(TrainingMode::Teacher));
  CHECK_THROWS_WITH(single_teacher.resume(teacher_path),
                    Catch::Matchers::Contains("checkpoint " + teacher_path + " has another architecture"));

  TrainerConfig bad = ensemble_config(TrainingMode::Teacher);
  bad.ensemble.temperature = 0;
  CHECK_THROWS_WITH(validate(bad), Catch::Matchers::Contains("ensemble temperature"));
}

TEST_CASE("parallel training lowers the teacher's and the student's losses", "[trainer]") {
  TinyData data;
  TrainerConfig config = tiny_config(TrainingMode::Parallel);
  config.weights = {1, 1, 0.01};
  data::Loader loader(data.options());
  Trainer trainer(config);
  double teacher_first = 0, teacher_last = 0, student_first = 0, student_last = 0;
  const int steps = 30, window = 5;
  for (int s = 0; s < steps; ++s) {
    StepLosses losses = trainer.step(next_batch(loader));
    CHECK(losses.teacher_label > 0);
    if (s < window) teacher_first += losses.teacher_label, student_first += losses.label;
    if (s >= steps - window) teacher_last += losses.teacher_label, student_last += losses.label;
  }
  INFO("teacher " << teacher_first / window << " -> " << teacher_last / window << ", student label " << student_first / window
                  << " -> " << student_last / window);
  CHECK(teacher_last < 0.8 * teacher_first);
  CHECK(student_last < 0.8 * student_first);
  CHECK(trainer.reads_full_frames());
  CHECK(trainer.reads_sampled_frames());
}

TEST_CASE("a run stopped and resumed from its checkpoint equals an unbroken run", "[trainer]") {
  TinyData data;
  // Parallel mode also restores the co-trained teacher and its optimizer: the student's steps after the
  // resume depend on them.
  const TrainingMode mode = GENERATE(TrainingMode::Uniform, TrainingMode::Parallel);
  INFO(training_mode_name(mode));
  TrainerConfig config = tiny_config(mode);
  if (mode == TrainingMode::Parallel) config.weights = {1, 1, 0.01};
  const int first_steps = 7, total_steps = 15;  // 128 videos / 16: the resumed part crosses an epoch

  data::Loader unbroken_loader(data.options());
  Trainer unbroken(config);
  for (int s = 0; s < total_steps; ++s) unbroken.step(next_batch(unbroken_loader));

  const std::string path = data.directory.file("checkpoint.safetensors");
  {
    data::Loader loader(data.options());
    Trainer stopped(config);
    for (int s = 0; s < first_steps; ++s) stopped.step(next_batch(loader));
    stopped.save(path, {{"loader_position", loader.position()}});
  }
  TrainerConfig other_seed = config;  // everything that matters must come from the checkpoint
  other_seed.seed = 1234;
  Trainer resumed(other_seed);
  StringMap metadata = resumed.resume(path);
  CHECK(resumed.step_count() == first_steps);
  CHECK(resumed.examples_seen() == first_steps * 16);
  data::Loader loader(data.options());
  loader.restore(metadata.at("loader_position"));
  for (int s = first_steps; s < total_steps; ++s) resumed.step(next_batch(loader));

  auto expected = weights_of(unbroken), got = weights_of(resumed);
  REQUIRE(expected.size() == got.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO(unbroken.model().parameters().all()[i].name);
    REQUIRE(expected[i].size() == got[i].size());
    CHECK(std::memcmp(expected[i].data(), got[i].data(), expected[i].size() * sizeof(float)) == 0);
  }
  CHECK(resumed.generator().offset() == unbroken.generator().offset());
}

TEST_CASE("trainer configs are checked", "[trainer]") {
  TrainerConfig student = tiny_config(TrainingMode::Student);
  CHECK_THROWS_WITH(Trainer(student), Catch::Matchers::Contains("teacher checkpoint"));
  TrainerConfig teacher = tiny_config(TrainingMode::Teacher);
  teacher.weights.prediction = 1;
  CHECK_THROWS_WITH(Trainer(teacher), Catch::Matchers::Contains("student mode"));
  CHECK_THROWS_WITH(parse_training_mode("serial"), Catch::Matchers::Contains("unknown training mode"));
  TrainerConfig parallel = tiny_config(TrainingMode::Parallel);
  parallel.teacher_checkpoint = "teacher.safetensors";
  CHECK_THROWS_WITH(Trainer(parallel), Catch::Matchers::Contains("from scratch"));
}

}  // namespace ff::models
