// End to end on the CPU: a small MLP with sigmoid outputs learns a synthetic multi-label task with the
// engine's ops, autograd, Adam and the staircase schedule.
#include <catch2/catch.hpp>
#include <cmath>

#include "engine/autograd.h"
#include "engine/lr_schedule.h"
#include "engine/ops.h"
#include "engine/optimizer.h"
#include "engine/parameters.h"

namespace ff {
namespace {

constexpr int64_t kInputs = 16, kHidden = 32, kLabels = 8, kBatch = 64;

// Labels of a fixed random linear "teacher": label j is on when w_j . x + b_j > 0. A hidden layer is
// not needed to fit it, so a failure to learn points at the engine, not at the task.
struct Task {
  Tensor teacher_weights, teacher_bias;
  explicit Task(Generator& generator)
      : teacher_weights(Tensor::normal({kInputs, kLabels}, 0, 1, generator)),
        teacher_bias(Tensor::normal({kLabels}, 0, 0.5, generator)) {}

  std::pair<Tensor, Tensor> batch(Generator& generator) const {
    NoGradGuard no_grad;
    Tensor x = Tensor::normal({kBatch, kInputs}, 0, 1, generator);
    std::vector<float> scores = bias_add(matmul(x, teacher_weights), teacher_bias).to_vector<float>();
    std::vector<float> labels(scores.size());
    for (size_t i = 0; i < scores.size(); ++i) labels[i] = scores[i] > 0 ? 1.0f : 0.0f;
    return {x, Tensor::from_vector(labels, {kBatch, kLabels})};
  }
};

// Binary cross-entropy summed over labels, averaged over the batch (the training loss of the models).
Tensor label_loss(const Tensor& logits, const Tensor& labels) {
  return scale(sum_all(bce_with_logits(logits, labels)), 1.0 / double(logits.size(0)));
}

}  // namespace

TEST_CASE("an MLP learns a synthetic multi-label task on the CPU", "[training]") {
  Generator generator(2024);
  Task task(generator);
  ParameterSet parameters;
  Tensor w1 = parameters.add("hidden.weight", Tensor::normal({kInputs, kHidden}, 0, 1 / std::sqrt(16.0), generator));
  Tensor b1 = parameters.add("hidden.bias", Tensor::zeros({kHidden}));
  Tensor w2 = parameters.add("classifier.weight",
                             Tensor::normal({kHidden, kLabels}, 0, 1 / std::sqrt(32.0), generator), true);
  Tensor b2 = parameters.add("classifier.bias", Tensor::zeros({kLabels}));
  AdamOptions options;
  options.preprocessing.l2 = 1e-5f;
  AdamOptimizer adam(parameters, options);
  LearningRateSchedule schedule = LearningRateSchedule::staircase_exponential(1e-2, 0.8, 10000);

  auto forward = [&](const Tensor& x) { return bias_add(matmul(relu(bias_add(matmul(x, w1), b1)), w2), b2); };
  Generator data_generator(7);
  auto [first_x, first_labels] = task.batch(data_generator);
  double initial_loss = label_loss(forward(first_x), first_labels).item();

  double recent_loss = 0;
  const int steps = 400;
  for (int step = 0; step < steps; ++step) {
    auto [x, labels] = task.batch(data_generator);
    parameters.zero_grad();
    Tensor loss = label_loss(forward(x), labels);
    loss.backward();
    adam.step(schedule.rate_at(int64_t(step) * kBatch));
    if (step >= steps - 20) recent_loss += loss.item() / 20;
  }
  INFO("loss: initial " << initial_loss << ", mean of the last 20 steps " << recent_loss);
  CHECK(initial_loss > 4.0);  // about 8 labels x log(2) for an untrained model
  CHECK(recent_loss < 0.8);   // under a fifth of the start: the task is being learned, not guessed
}

}  // namespace ff
