// Reverse-mode automatic differentiation. Each recorded op leaves a Node on its output holding the
// inputs and a backward function; backward() orders the graph reachable from the root (the tape, in
// reverse) and runs each node once, summing the gradients of tensors used more than once.
#pragma once
#include <functional>
#include <vector>

#include "engine/tensor.h"

namespace ff {

// Which inputs of a node need a gradient; backward functions skip the others.
using NeedsGrad = std::vector<bool>;
// Returns one gradient per input, in order (an undefined Tensor where none is needed).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output, const NeedsGrad& needs)>;

struct Node {
  const char* op = "";
  std::vector<Tensor> inputs;  // recorded inputs (their impls keep the graph alive)
  NeedsGrad needs;
  BackwardFn backward;
};

// Whether ops record (thread-local; on by default).
bool grad_enabled();

// Turns recording off for its lifetime: evaluation, optimizer updates, backward functions themselves.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// Attaches a node to `output` when recording is on and some input requires a gradient. Saved tensors
// captured by `backward` must be detached (Tensor::detach) so the graph holds no cycle.
Tensor record(Tensor output, std::vector<Tensor> inputs, const char* op, BackwardFn backward);

void run_backward(const Tensor& root, const Tensor& seed);

}  // namespace ff
