// Learning-rate schedules, as functions of the number of training examples seen so far (the original
// NeXtVLAD code decays by examples, tf.train.exponential_decay(base, global_step * batch_size, ...)).
#pragma once
#include <cstdint>

namespace ff {

struct LearningRateSchedule {
  // lr = base_rate * decay_rate ^ floor(examples_seen / decay_examples): staircase exponential decay.
  // decay_rate = 1 gives a constant rate. The defaults are the original training's.
  double base_rate = 2e-4;
  double decay_rate = 0.8;
  int64_t decay_examples = 2'000'000;

  static LearningRateSchedule constant(double rate);
  static LearningRateSchedule staircase_exponential(double base_rate, double decay_rate, int64_t decay_examples);

  // Throws std::invalid_argument when the schedule's fields are out of range (see validate) or when
  // examples_seen < 0.
  double rate_at(int64_t examples_seen) const;
  // base_rate finite and >= 0, decay_rate finite and > 0, decay_examples > 0; throws otherwise.
  void validate() const;
};

}  // namespace ff
