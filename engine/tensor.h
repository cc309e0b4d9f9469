// Tensor: a shape, a dtype and a device over shared storage. Tensors are always row-major and dense;
// views (reshape, narrow along the first axis, detach) share storage at an element offset. Tensors that
// require gradients take part in reverse-mode autograd (engine/autograd.h).
#pragma once
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/dtype.h"
#include "engine/random.h"

namespace ff {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& shape);  // "[2, 3]"
int64_t shape_numel(const Shape& shape);

struct Node;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  DType dtype = DType::Float32;
  bool requires_grad = false;
  bool retains_grad = false;
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<Node> grad_fn;  // set on outputs of recorded ops; empty for leaves
  std::string name;
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Creation. Contents of empty() are unspecified.
  static Tensor empty(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::Float32, Device device = Device::cpu());
  static Tensor uniform(const Shape& shape, double low, double high, Generator& generator,
                        DType dtype = DType::Float32, Device device = Device::cpu());
  static Tensor normal(const Shape& shape, double mean, double stddev, Generator& generator,
                       DType dtype = DType::Float32, Device device = Device::cpu());
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device = Device::cpu());
  static Tensor empty_like(const Tensor& other) { return empty(other.shape(), other.dtype(), other.device()); }
  static Tensor zeros_like(const Tensor& other) { return zeros(other.shape(), other.dtype(), other.device()); }

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl_->shape; }
  int64_t dim() const { return int64_t(impl_->shape.size()); }
  int64_t size(int64_t axis) const;  // negative axes count from the end
  int64_t numel() const { return shape_numel(impl_->shape); }
  DType dtype() const { return impl_->dtype; }
  Device device() const { return impl_->storage->device(); }
  bool is_cuda() const { return device().is_cuda(); }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype()); }

  void* raw_data() const;
  template <class T>
  T* data() const;  // checks that T matches the dtype

  // Copies (never recorded by autograd).
  Tensor to(Device device) const;
  Tensor to(DType dtype) const;
  Tensor clone() const;
  void copy_from(const Tensor& source);  // same shape and dtype, any devices
  template <class T>
  std::vector<T> to_vector() const;
  double item() const;  // the value of a one-element tensor, as double

  // Views sharing storage (not recorded: use ff::reshape for a differentiable reshape).
  Tensor view(const Shape& shape) const;  // one axis may be -1
  Tensor narrow_rows(int64_t start, int64_t length) const;  // along axis 0
  Tensor detach() const;

  // Autograd.
  bool requires_grad() const { return impl_->requires_grad; }
  Tensor& set_requires_grad(bool enabled = true);
  Tensor& retain_grad();  // keep the gradient of a non-leaf tensor after backward
  Tensor grad() const { return impl_->grad ? Tensor(impl_->grad) : Tensor(); }
  void zero_grad() { impl_->grad.reset(); }
  bool is_leaf() const { return impl_->grad_fn == nullptr; }
  // Reverse-mode pass from this tensor; `seed` is d(root)/d(this) and defaults to 1 for a scalar.
  void backward(const Tensor& seed = Tensor()) const;

  const std::string& name() const { return impl_->name; }
  Tensor& set_name(std::string name);

  const std::shared_ptr<TensorImpl>& impl() const { return impl_; }
  std::string str() const;  // "float32[2, 3] cuda:0"

 private:
  std::shared_ptr<TensorImpl> impl_;
};

}  // namespace ff
