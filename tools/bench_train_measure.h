// One measured configuration of `fewerframes bench train`: end-to-end training steps of the engine, fed by
// the real loader, as `fewerframes train` runs them. A timed step is everything between two optimizer
// updates: waiting for the loader's next batch, copying its uint8 frames to the device, dequantising them
// there, the forward pass (and the frozen teacher's, for a student), the losses, the backward pass and Adam.
// Trainer::step reads the loss back to the host every step (its finite check), so the device has finished
// the step when it returns and the host clock measures device time too.
#pragma once
#include <cstdint>
#include <string>

#include "data/youtube8m.h"
#include "engine/device.h"
#include "models/nextvlad_config.h"
#include "models/trainer.h"

namespace ff::tools {

// Teacher: label loss on every frame. Student: serial distillation on k uniformly sampled frames, with
// the label, prediction and representation losses against a frozen teacher that reads every frame.
struct BenchTrainCase {
  models::TrainingMode mode = models::TrainingMode::Teacher;  // Teacher or Student
  int64_t k = 0;                                              // Student only
  int64_t batch_size = 160;
  std::string model_name() const;  // "teacher", "student"
};

struct BenchTrainSetup {
  NeXtVladConfig model;
  data::YouTube8MLayout layout;
  std::string data_pattern;        // the synthetic shards
  std::string teacher_checkpoint;  // the frozen teacher of student cases
  models::LossWeights student_weights{1.0, 1.0, 1.0};  // the paper's unweighted sum
  Device device = Device::cpu();
  int reader_threads = 2;
  int64_t shuffle_buffer = 256;  // as `fewerframes train`
  int warmup_steps = 3;
  int steps = 20;
  uint64_t seed = 0;
};

struct BenchTrainTiming {
  int steps = 0;
  double ms_per_step = 0;
  double videos_per_s = 0;
  // Parts of a step, host-timed: blocked in the loader's next(), copying the batch to the device. The
  // dequantisation kernels are queued by the copy and finish inside the training step on CUDA.
  double loader_wait_ms_per_step = 0;
  double to_device_ms_per_step = 0;
  double last_loss = 0;
};

// Writes a randomly initialised model of `config` as a checkpoint a student run can load as its teacher.
void write_bench_teacher(const NeXtVladConfig& config, const std::string& path, uint64_t seed);

// Runs setup.warmup_steps untimed steps, then setup.steps timed ones. Throws when the data holds fewer
// videos than one batch, or on any training error (an out-of-memory device, a non-finite loss).
BenchTrainTiming measure_engine_training(const BenchTrainSetup& setup, const BenchTrainCase& bench_case);

}  // namespace ff::tools
