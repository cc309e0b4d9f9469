#include <stdexcept>

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops/op_checks.h"
#include "kernels/layout.h"

namespace ff {
namespace {

// Copies `count` rows along `axis` from src (starting at src_start) into dst (starting at dst_start).
void copy_block(const Tensor& src, int64_t src_start, const Tensor& dst, int64_t dst_start, int64_t axis,
                int64_t count) {
  AxisView v = detail::axis_view(src.shape(), axis);
  AxisBlockCopy block{v.outer, v.inner, count, src.size(axis), src_start, dst.size(axis), dst_start};
  visit_float_dtype(src.dtype(), "copy_axis_block", [&]<class T>() {
    FF_RUN_KERNEL(src.device(), copy_axis_block<T>, block, src.data<T>(), dst.data<T>());
  });
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  detail::check_defined(x, "reshape", "input");
  Tensor y = x.view(shape);
  Shape input_shape = x.shape();
  return record(y, {x}, "reshape", [=](const Tensor& g, const NeedsGrad&) -> std::vector<Tensor> {
    return {g.view(input_shape)};
  });
}

Tensor transpose(const Tensor& x, int64_t axis0_in, int64_t axis1_in) {
  detail::check_defined(x, "transpose", "input");
  int64_t axis0 = detail::normalize_axis(axis0_in, x.dim(), "transpose");
  int64_t axis1 = detail::normalize_axis(axis1_in, x.dim(), "transpose");
  if (axis0 == axis1) return reshape(x, x.shape());
  if (axis0 > axis1) std::swap(axis0, axis1);
  TransposeView v;
  for (int64_t i = 0; i < x.dim(); ++i) {
    int64_t d = x.shape()[size_t(i)];
    if (i < axis0) v.a *= d;
    else if (i == axis0) v.d0 = d;
    else if (i < axis1) v.b *= d;
    else if (i == axis1) v.d1 = d;
    else v.c *= d;
  }
  Shape out_shape = x.shape();
  std::swap(out_shape[size_t(axis0)], out_shape[size_t(axis1)]);
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  visit_float_dtype(x.dtype(), "transpose", [&]<class T>() {
    FF_RUN_KERNEL(x.device(), transpose_axes<T>, v, x.data<T>(), y.data<T>());
  });
  return record(y, {x}, "transpose", [=](const Tensor& g, const NeedsGrad&) -> std::vector<Tensor> {
    return {transpose(g, axis0, axis1)};
  });
}

Tensor concat(const std::vector<Tensor>& parts, int64_t axis_in) {
  if (parts.empty()) throw std::invalid_argument("concat: no tensors");
  const Tensor& first = parts[0];
  detail::check_defined(first, "concat", "part 0");
  int64_t axis = detail::normalize_axis(axis_in, first.dim(), "concat");
  Shape out_shape = first.shape();
  out_shape[size_t(axis)] = 0;
  for (size_t p = 0; p < parts.size(); ++p) {
    detail::check_compatible(first, parts[p], "concat");
    Shape expected = first.shape(), got = parts[p].shape();
    if (got.size() != expected.size())
      throw std::invalid_argument("concat: part " + std::to_string(p) + " " + parts[p].str() + " has another rank");
    expected[size_t(axis)] = got[size_t(axis)];
    if (got != expected)
      throw std::invalid_argument("concat: part " + std::to_string(p) + " " + parts[p].str() + " does not match " +
                                  first.str() + " outside axis " + std::to_string(axis));
    out_shape[size_t(axis)] += got[size_t(axis)];
  }
  Tensor y = Tensor::empty(out_shape, first.dtype(), first.device());
  std::vector<int64_t> starts;
  int64_t start = 0;
  for (const Tensor& part : parts) {
    copy_block(part, 0, y, start, axis, part.size(axis));
    starts.push_back(start);
    start += part.size(axis);
  }
  std::vector<Shape> shapes;
  for (const Tensor& part : parts) shapes.push_back(part.shape());
  return record(y, parts, "concat", [=](const Tensor& g, const NeedsGrad& needs) -> std::vector<Tensor> {
    std::vector<Tensor> grads(shapes.size());
    for (size_t p = 0; p < shapes.size(); ++p) {
      if (!needs[p]) continue;
      grads[p] = Tensor::empty(shapes[p], g.dtype(), g.device());
      copy_block(g, starts[p], grads[p], 0, axis, shapes[p][size_t(axis)]);
    }
    return grads;
  });
}

Tensor slice(const Tensor& x, int64_t axis_in, int64_t start, int64_t end) {
  detail::check_defined(x, "slice", "input");
  int64_t axis = detail::normalize_axis(axis_in, x.dim(), "slice");
  if (start < 0 || end < start || end > x.size(axis))
    throw std::invalid_argument("slice: [" + std::to_string(start) + ", " + std::to_string(end) + ") of axis " +
                                std::to_string(axis) + " of " + x.str());
  Shape out_shape = x.shape();
  out_shape[size_t(axis)] = end - start;
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  copy_block(x, start, y, 0, axis, end - start);
  Shape input_shape = x.shape();
  return record(y, {x}, "slice", [=](const Tensor& g, const NeedsGrad&) -> std::vector<Tensor> {
    Tensor dx = Tensor::zeros(input_shape, g.dtype(), g.device());
    copy_block(g, 0, dx, start, axis, end - start);
    return {dx};
  });
}

Tensor gather_frames(const Tensor& frames, const Tensor& indices) {
  detail::check_defined(frames, "gather_frames", "frames");
  detail::check_defined(indices, "gather_frames", "indices");
  if (frames.dim() != 3 || indices.dim() != 2 || indices.dtype() != DType::Int32 ||
      indices.size(0) != frames.size(0) || indices.device() != frames.device())
    throw std::invalid_argument("gather_frames: expected frames [batch, frames, dim] and int32 indices [batch, k] "
                                "on the same device, got " + frames.str() + " and " + indices.str());
  int64_t batch = frames.size(0), count = frames.size(1), dim = frames.size(2), k = indices.size(1);
  Tensor y = Tensor::empty({batch, k, dim}, frames.dtype(), frames.device());
  visit_float_dtype(frames.dtype(), "gather_frames", [&]<class T>() {
    FF_RUN_KERNEL(frames.device(), gather_frames_forward<T>, batch, count, dim, k, frames.data<T>(),
                  indices.data<int32_t>(), y.data<T>());
  });
  Tensor saved_indices = indices.detach();
  return record(y, {frames}, "gather_frames", [=](const Tensor& g, const NeedsGrad&) -> std::vector<Tensor> {
    Tensor dx = Tensor::empty({batch, count, dim}, g.dtype(), g.device());
    visit_float_dtype(g.dtype(), "gather_frames", [&]<class T>() {
      FF_RUN_KERNEL(g.device(), gather_frames_backward<T>, batch, count, dim, k, g.data<T>(),
                    saved_indices.data<int32_t>(), dx.data<T>());
    });
    return {dx};
  });
}

}  // namespace ff
