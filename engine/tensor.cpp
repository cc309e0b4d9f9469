#include "engine/tensor.h"

#include <sstream>
#include <stdexcept>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "kernels/fill.h"

namespace ff {

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

namespace {
std::shared_ptr<TensorImpl> make_impl(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape)
    if (d < 0) throw std::invalid_argument("negative dimension in shape " + shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(size_t(shape_numel(shape)) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->dtype = dtype;
  return impl;
}
}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) { return Tensor(make_impl(shape, dtype, device)); }

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  visit_dtype(dtype, [&]<class T>() { FF_RUN_KERNEL(device, fill<T>, t.data<T>(), t.numel(), convert_value<T>(value)); });
  return t;
}

Tensor Tensor::uniform(const Shape& shape, double low, double high, Generator& generator, DType dtype,
                       Device device) {
  Tensor t = empty(shape, dtype, device);
  uint64_t offset = generator.advance(uint64_t(t.numel()));
  visit_dtype(dtype, [&]<class T>() {
    FF_RUN_KERNEL(device, fill_uniform<T>, t.data<T>(), t.numel(), generator.seed(), offset, low, high);
  });
  return t;
}

Tensor Tensor::normal(const Shape& shape, double mean, double stddev, Generator& generator, DType dtype,
                      Device device) {
  Tensor t = empty(shape, dtype, device);
  uint64_t offset = generator.advance(uint64_t(t.numel()));
  visit_dtype(dtype, [&]<class T>() {
    FF_RUN_KERNEL(device, fill_normal<T>, t.data<T>(), t.numel(), generator.seed(), offset, mean, stddev);
  });
  return t;
}

template <class T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape, Device device) {
  if (int64_t(values.size()) != shape_numel(shape))
    throw std::invalid_argument("from_vector: " + std::to_string(values.size()) + " values for shape " +
                                shape_str(shape));
  Tensor t = empty(shape, dtype_of<T>(), device);
  copy_bytes(t.raw_data(), device, values.data(), Device::cpu(), values.size() * sizeof(T));
  return t;
}

int64_t Tensor::size(int64_t axis) const {
  int64_t d = dim();
  int64_t a = axis < 0 ? axis + d : axis;
  if (a < 0 || a >= d)
    throw std::out_of_range("axis " + std::to_string(axis) + " out of range for shape " + shape_str(shape()));
  return impl_->shape[size_t(a)];
}

void* Tensor::raw_data() const {
  return static_cast<char*>(impl_->storage->data()) + impl_->offset * int64_t(dtype_size(impl_->dtype));
}

template <class T>
T* Tensor::data() const {
  if (dtype_of<T>() != dtype())
    throw std::invalid_argument(std::string("tensor of dtype ") + dtype_name(dtype()) + " read as " +
                                dtype_name(dtype_of<T>()));
  return static_cast<T*>(raw_data());
}

Tensor Tensor::to(Device target) const {
  if (target == device()) return *this;
  Tensor out = empty(shape(), dtype(), target);
  out.copy_from(*this);
  return out;
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor out = empty(shape(), target, device());
  visit_dtype(dtype(), [&]<class From>() {
    visit_dtype(target, [&]<class To>() {
      // Two template arguments do not pass through the macro, hence the explicit branch.
      if (is_cuda()) {
#if FF_WITH_CUDA
        cuda::cast<From, To>(data<From>(), out.data<To>(), numel());
#else
        throw_no_cuda("cast");
#endif
      } else {
        cpu::cast<From, To>(data<From>(), out.data<To>(), numel());
      }
    });
  });
  return out;
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype(), device());
  out.copy_from(*this);
  return out;
}

void Tensor::copy_from(const Tensor& source) {
  if (source.shape() != shape() || source.dtype() != dtype())
    throw std::invalid_argument("copy_from: " + source.str() + " into " + str());
  copy_bytes(raw_data(), device(), source.raw_data(), source.device(), nbytes());
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  std::vector<T> values(static_cast<size_t>(numel()));
  Tensor host = to(dtype_of<T>());
  copy_bytes(values.data(), Device::cpu(), host.raw_data(), host.device(), values.size() * sizeof(T));
  return values;
}

double Tensor::item() const {
  if (numel() != 1) throw std::invalid_argument("item() of a tensor with shape " + shape_str(shape()));
  return to_vector<double>()[0];
}

Tensor Tensor::view(const Shape& requested) const {
  Shape shape = requested;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw std::invalid_argument("view: more than one -1 in " + shape_str(requested));
      infer = int64_t(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0 && known > 0 && numel() % known == 0) shape[size_t(infer)] = numel() / known;
  if (shape_numel(shape) != numel() || (infer >= 0 && shape[size_t(infer)] < 0))
    throw std::invalid_argument("cannot view " + str() + " as " + shape_str(requested));
  auto impl = std::make_shared<TensorImpl>(*impl_);
  impl->shape = shape;
  impl->requires_grad = false;
  impl->retains_grad = false;
  impl->grad.reset();
  impl->grad_fn.reset();
  return Tensor(impl);
}

Tensor Tensor::narrow_rows(int64_t start, int64_t length) const {
  if (dim() == 0 || start < 0 || length < 0 || start + length > size(0))
    throw std::out_of_range("narrow_rows(" + std::to_string(start) + ", " + std::to_string(length) + ") of " + str());
  Tensor out = detach();
  out.impl_->shape[0] = length;
  out.impl_->offset += start * (size(0) ? numel() / size(0) : 0);
  return out;
}

Tensor Tensor::detach() const { return view(shape()); }

Tensor& Tensor::set_requires_grad(bool enabled) {
  if (enabled && !is_floating(dtype()))
    throw std::invalid_argument("only floating tensors can require gradients, not " + str());
  impl_->requires_grad = enabled;
  return *this;
}

Tensor& Tensor::retain_grad() {
  impl_->retains_grad = true;
  return *this;
}

void Tensor::backward(const Tensor& seed) const { run_backward(*this, seed); }

Tensor& Tensor::set_name(std::string name) {
  impl_->name = std::move(name);
  return *this;
}

std::string Tensor::str() const {
  if (!defined()) return "undefined tensor";
  std::string s = dtype_name(dtype()) + shape_str(shape()) + " " + device().str();
  if (!name().empty()) s = name() + ": " + s;
  return s;
}

#define FF_INSTANTIATE_TENSOR(T)                                                               \
  template Tensor Tensor::from_vector<T>(const std::vector<T>&, const Shape&, Device);         \
  template T* Tensor::data<T>() const;                                                         \
  template std::vector<T> Tensor::to_vector<T>() const;
FF_INSTANTIATE_TENSOR(float)
FF_INSTANTIATE_TENSOR(double)
FF_INSTANTIATE_TENSOR(bfloat16)
FF_INSTANTIATE_TENSOR(uint8_t)
FF_INSTANTIATE_TENSOR(int32_t)
FF_INSTANTIATE_TENSOR(int64_t)

}  // namespace ff
