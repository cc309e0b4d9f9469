#include "tools/bench_train_measure.h"

#include <chrono>
#include <stdexcept>

#include "data/loader.h"
#include "engine/checkpoint.h"
#include "engine/random.h"
#include "models/nextvlad.h"
#include "tools/batch_tensors.h"

namespace ff::tools {

namespace {
using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

constexpr const char* kFullView = "all";
constexpr const char* kSampledView = "sampled";
}  // namespace

std::string BenchTrainCase::model_name() const { return models::training_mode_name(mode); }

void write_bench_teacher(const NeXtVladConfig& config, const std::string& path, uint64_t seed) {
  Generator generator(seed);
  NeXtVladModel teacher(config, generator);
  save_checkpoint(path, teacher.parameters());
}

BenchTrainTiming measure_engine_training(const BenchTrainSetup& setup, const BenchTrainCase& bench_case) {
  if (bench_case.mode != models::TrainingMode::Teacher && bench_case.mode != models::TrainingMode::Student)
    throw std::invalid_argument("bench train measures the teacher and the student modes only");
  const bool student = bench_case.mode == models::TrainingMode::Student;
  if (setup.steps < 1) throw std::invalid_argument("bench train needs at least one timed step");

  models::TrainerConfig config;
  config.mode = bench_case.mode;
  config.model = setup.model;
  config.seed = setup.seed;
  if (student) {
    config.teacher_checkpoint = setup.teacher_checkpoint;
    config.weights = setup.student_weights;
  }
  models::Trainer trainer(config, setup.device);

  data::LoaderOptions l;
  l.patterns = {setup.data_pattern};
  l.layout = setup.layout;
  l.views = {{kFullView, {data::FrameSampler::All, 0, setup.model.max_frames}}};
  // As in `train`: the student's frames are gathered on the device from the teacher's (tools/batch_tensors.h).
  if (student)
    l.views.push_back({kSampledView, {data::FrameSampler::Uniform, bench_case.k, setup.model.max_frames}, false});
  l.batch_size = bench_case.batch_size;
  l.drop_remainder = true;  // every step sees a full batch
  l.reader_threads = setup.reader_threads;
  l.shuffle_buffer = setup.shuffle_buffer;
  l.seed = setup.seed;
  data::Loader loader(l);

  data::Batch batch;
  auto next_batch = [&] {
    for (int epochs = 0; !loader.next(batch); ++epochs) {
      if (epochs > 0)
        throw std::runtime_error("bench train: the synthetic data holds fewer videos than one batch of " +
                                 std::to_string(bench_case.batch_size) + " (raise --videos)");
      loader.next_epoch();
    }
  };

  BenchTrainTiming timing;
  double wait_ms = 0, to_device_ms = 0;
  Clock::time_point start;
  for (int i = 0; i < setup.warmup_steps + setup.steps; ++i) {
    if (i == setup.warmup_steps) {
      synchronize(setup.device);
      start = Clock::now();
      wait_ms = to_device_ms = 0;
    }
    Clock::time_point t = Clock::now();
    next_batch();
    wait_ms += ms_since(t);
    t = Clock::now();
    models::TrainingBatch tensors =
        training_batch(batch, setup.layout, kFullView, student ? kSampledView : "", setup.device);
    to_device_ms += ms_since(t);
    timing.last_loss = trainer.step(tensors).total;
  }
  synchronize(setup.device);
  const double total_ms = ms_since(start);
  timing.steps = setup.steps;
  timing.ms_per_step = total_ms / setup.steps;
  timing.videos_per_s = double(bench_case.batch_size) * setup.steps / (total_ms / 1e3);
  timing.loader_wait_ms_per_step = wait_ms / setup.steps;
  timing.to_device_ms_per_step = to_device_ms / setup.steps;
  return timing;
}

}  // namespace ff::tools
