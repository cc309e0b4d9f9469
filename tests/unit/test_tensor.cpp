#include <catch2/catch.hpp>

#include "engine/device.h"
#include "engine/tensor.h"

namespace ff {

TEST_CASE("tensors know their shape, dtype and device", "[tensor]") {
  Tensor t = Tensor::zeros({2, 3, 4}, DType::Float64);
  CHECK(t.dim() == 3);
  CHECK(t.numel() == 24);
  CHECK(t.size(-1) == 4);
  CHECK(t.nbytes() == 24 * 8);
  CHECK(t.device() == Device::cpu());
  CHECK(t.str() == "float64[2, 3, 4] cpu");
  CHECK_THROWS_WITH(t.size(3), Catch::Contains("axis 3 out of range"));
  CHECK_THROWS_WITH(t.data<float>(), Catch::Contains("float64 read as float32"));
  CHECK_THROWS_AS(Tensor::empty({2, -1}), std::invalid_argument);
}

TEST_CASE("views share storage; clones do not", "[tensor]") {
  Tensor t = Tensor::from_vector<float>({0, 1, 2, 3, 4, 5}, {3, 2});
  Tensor flat = t.view({-1});
  CHECK(flat.shape() == Shape{6});
  flat.data<float>()[5] = 50;
  CHECK(t.data<float>()[5] == 50);
  Tensor rows = t.narrow_rows(1, 2);
  CHECK(rows.shape() == Shape{2, 2});
  CHECK(rows.to_vector<float>() == std::vector<float>{2, 3, 4, 50});
  Tensor copy = t.clone();
  copy.data<float>()[0] = -1;
  CHECK(t.data<float>()[0] == 0);
  CHECK_THROWS_WITH(t.view({4, -1}), Catch::Contains("cannot view"));
  CHECK_THROWS_AS(t.narrow_rows(2, 2), std::out_of_range);
}

TEST_CASE("dtype conversions round as documented", "[tensor]") {
  Tensor f = Tensor::from_vector<float>({1.0f, -2.5f, 3.1415926f, 1e-3f, 255.9f}, {5});
  std::vector<double> d = f.to(DType::Float64).to_vector<double>();
  CHECK(d[2] == Approx(3.1415926).epsilon(1e-7));
  // bfloat16 keeps 8 bits of mantissa, rounding to nearest even.
  std::vector<float> back = f.to(DType::BFloat16).to(DType::Float32).to_vector<float>();
  CHECK(back[0] == 1.0f);
  CHECK(back[1] == -2.5f);
  CHECK(back[2] == 3.140625f);
  CHECK(std::fabs(back[3] - 1e-3f) < 1e-5f);
  std::vector<uint8_t> bytes = f.to(DType::UInt8).to_vector<uint8_t>();
  CHECK(bytes[4] == 255);
  // Out-of-range floats saturate to the integer range (a plain cast is undefined; x86 and GPUs differ).
  Tensor wild = Tensor::from_vector<float>({-1.5f, 300.0f, NAN, 2.7f, -1e30f, 1e30f}, {6});
  CHECK(wild.to(DType::UInt8).to_vector<uint8_t>() == std::vector<uint8_t>{0, 255, 0, 2, 0, 255});
  CHECK(wild.to(DType::Int32).to_vector<int32_t>() ==
        std::vector<int32_t>{-1, 300, 0, 2, INT32_MIN, INT32_MAX});
  CHECK(wild.to(DType::Int64).to_vector<int64_t>()[5] == INT64_MAX);
  std::vector<int64_t> integers = Tensor::from_vector<int32_t>({-7, 9}, {2}).to(DType::Int64).to_vector<int64_t>();
  CHECK(integers == std::vector<int64_t>{-7, 9});
  CHECK(float_to_bf16(NAN).bits != float_to_bf16(INFINITY).bits);
  CHECK(std::isnan(bf16_to_float(float_to_bf16(NAN))));
}

TEST_CASE("full, item and copy_from", "[tensor]") {
  Tensor t = Tensor::full({2, 2}, 1.5);
  CHECK(t.to_vector<float>() == std::vector<float>{1.5f, 1.5f, 1.5f, 1.5f});
  CHECK(Tensor::full({}, 4.0, DType::Int32).item() == 4.0);
  CHECK_THROWS_AS(t.item(), std::invalid_argument);
  Tensor target = Tensor::zeros({2, 2});
  target.copy_from(t);
  CHECK(target.to_vector<float>() == t.to_vector<float>());
  CHECK_THROWS_AS(target.copy_from(Tensor::zeros({4})), std::invalid_argument);
}

TEST_CASE("devices parse and report", "[device]") {
  CHECK(parse_device("cpu") == Device::cpu());
  CHECK(parse_device("cuda") == Device::cuda(0));
  CHECK(parse_device("cuda:1") == Device::cuda(1));
  CHECK_THROWS_WITH(parse_device("gpu"), Catch::Contains("unknown device \"gpu\""));
  CHECK_THROWS_AS(parse_device("cuda:x"), std::invalid_argument);
  if (!cuda_available()) CHECK_THROWS_WITH(Tensor::zeros({2}, DType::Float32, Device::cuda()), Catch::Contains("cuda", Catch::CaseSensitive::No));
  PinnedBuffer buffer(1024);
  REQUIRE(buffer.data() != nullptr);
  CHECK(buffer.bytes() == 1024);
}

TEST_CASE("poisoned allocations are NaN until written", "[device]") {
  set_poison_allocations(true);
  Tensor t = Tensor::empty({3});
  set_poison_allocations(false);
  for (float v : t.to_vector<float>()) CHECK(std::isnan(v));
}

}  // namespace ff
