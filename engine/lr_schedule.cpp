#include "engine/lr_schedule.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace ff {

LearningRateSchedule LearningRateSchedule::constant(double rate) {
  LearningRateSchedule schedule{rate, 1.0, 1};
  schedule.validate();
  return schedule;
}

LearningRateSchedule LearningRateSchedule::staircase_exponential(double base_rate, double decay_rate,
                                                                 int64_t decay_examples) {
  LearningRateSchedule schedule{base_rate, decay_rate, decay_examples};
  schedule.validate();
  return schedule;
}

void LearningRateSchedule::validate() const {
  if (!std::isfinite(base_rate) || base_rate < 0)
    throw std::invalid_argument("learning rate schedule: base rate " + std::to_string(base_rate) +
                                " must be finite and >= 0");
  if (!std::isfinite(decay_rate) || decay_rate <= 0)
    throw std::invalid_argument("learning rate schedule: decay rate " + std::to_string(decay_rate) +
                                " must be finite and > 0");
  if (decay_examples <= 0)
    throw std::invalid_argument("learning rate schedule: decay every " + std::to_string(decay_examples) +
                                " examples; must be > 0");
}

double LearningRateSchedule::rate_at(int64_t examples_seen) const {
  validate();
  if (examples_seen < 0)
    throw std::invalid_argument("learning rate schedule: " + std::to_string(examples_seen) + " examples seen");
  // Integer division is the floor for non-negative counts, exact where a double quotient might round up.
  int64_t decays = examples_seen / decay_examples;
  return base_rate * std::pow(decay_rate, double(decays));
}

}  // namespace ff
