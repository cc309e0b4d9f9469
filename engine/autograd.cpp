#include "engine/autograd.h"

#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "engine/ops.h"

namespace ff {

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

Tensor record(Tensor output, std::vector<Tensor> inputs, const char* op, BackwardFn backward) {
  if (!g_grad_enabled) return output;
  NeedsGrad needs(inputs.size());
  bool any = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    needs[i] = inputs[i].defined() && inputs[i].requires_grad();
    any = any || needs[i];
  }
  if (!any) return output;
  auto node = std::make_shared<Node>();
  node->op = op;
  node->inputs = std::move(inputs);
  node->needs = std::move(needs);
  node->backward = std::move(backward);
  output.impl()->grad_fn = std::move(node);
  output.impl()->requires_grad = true;
  return output;
}

namespace {

// Post-order over the graph (inputs before the nodes that use them), without recursion so deep graphs
// cannot overflow the stack.
std::vector<TensorImpl*> topological_order(TensorImpl* root) {
  std::vector<TensorImpl*> order;
  std::unordered_set<TensorImpl*> visited;
  std::vector<std::pair<TensorImpl*, size_t>> stack{{root, 0}};
  visited.insert(root);
  while (!stack.empty()) {
    auto& [impl, next_input] = stack.back();
    Node* node = impl->grad_fn.get();
    if (node && next_input < node->inputs.size()) {
      size_t i = next_input++;
      if (!node->needs[i]) continue;
      TensorImpl* input = node->inputs[i].impl().get();
      if (visited.insert(input).second) stack.push_back({input, 0});
      continue;
    }
    order.push_back(impl);
    stack.pop_back();
  }
  return order;
}

void check_gradient(const Tensor& grad, const TensorImpl* impl, const char* op) {
  if (grad.shape() != impl->shape || grad.dtype() != impl->dtype)
    throw std::logic_error(std::string("backward of ") + op + " produced " + grad.str() + " for an input of shape " +
                           shape_str(impl->shape));
}

// Leaves keep their gradient between backward passes and sum into it; the first store copies, because
// the incoming gradient may share storage with another tensor's.
void accumulate_into_leaf(TensorImpl* impl, const Tensor& grad) {
  if (!impl->grad) {
    impl->grad = grad.clone().impl();
    return;
  }
  add_(Tensor(impl->grad), grad);
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& seed) {
  if (!root.requires_grad())
    throw std::logic_error("backward() on " + root.str() + ", which does not require gradients");
  Tensor root_grad = seed;
  if (!root_grad.defined()) {
    if (root.numel() != 1)
      throw std::invalid_argument("backward() without a seed needs a one-element root, got " + root.str());
    root_grad = Tensor::full(root.shape(), 1.0, root.dtype(), root.device());
  } else if (root_grad.shape() != root.shape()) {
    throw std::invalid_argument("backward() seed " + root_grad.str() + " does not match root " + root.str());
  }

  NoGradGuard no_grad;
  std::vector<TensorImpl*> order = topological_order(root.impl().get());
  std::unordered_map<TensorImpl*, Tensor> pending;
  pending[root.impl().get()] = root_grad;

  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    TensorImpl* impl = *it;
    auto found = pending.find(impl);
    if (found == pending.end()) continue;  // nothing flowed into this tensor
    Tensor grad = std::move(found->second);
    pending.erase(found);

    Node* node = impl->grad_fn.get();
    if (!node || impl->retains_grad) accumulate_into_leaf(impl, grad);
    if (!node) continue;

    std::vector<Tensor> input_grads = node->backward(grad, node->needs);
    for (size_t i = 0; i < node->inputs.size(); ++i) {
      if (!node->needs[i]) continue;
      if (i >= input_grads.size() || !input_grads[i].defined())
        throw std::logic_error(std::string("backward of ") + node->op + " gave no gradient for input " +
                               std::to_string(i));
      TensorImpl* input = node->inputs[i].impl().get();
      check_gradient(input_grads[i], input, node->op);
      auto [slot, inserted] = pending.try_emplace(input, input_grads[i]);
      if (!inserted) slot->second = add(slot->second, input_grads[i]);
    }
  }
}

}  // namespace ff
