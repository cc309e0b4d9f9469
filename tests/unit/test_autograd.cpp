#include <catch2/catch.hpp>

#include "engine/autograd.h"
#include "engine/ops.h"

namespace ff {

TEST_CASE("gradients accumulate for a tensor used twice and across backward passes", "[autograd]") {
  Tensor x = Tensor::from_vector<double>({1, 2, 3}, {3}).set_requires_grad();
  Tensor y = sum_all(add(mul(x, x), scale(x, 3.0)));  // d/dx = 2x + 3
  y.backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{5, 7, 9});
  sum_all(x).backward();  // leaves keep summing until zero_grad
  CHECK(x.grad().to_vector<double>() == std::vector<double>{6, 8, 10});
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("no-grad scopes record nothing", "[autograd]") {
  Tensor x = Tensor::from_vector<float>({1, 2}, {2}).set_requires_grad();
  {
    NoGradGuard guard;
    Tensor y = sigmoid(x);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.is_leaf());
  }
  CHECK(grad_enabled());
  CHECK(sigmoid(x).requires_grad());
}

TEST_CASE("only inputs that need gradients get them", "[autograd]") {
  Tensor w = Tensor::from_vector<double>({2, 3}, {2}).set_requires_grad();
  Tensor data = Tensor::from_vector<double>({5, 7}, {2});
  sum_all(mul(w, data)).backward();
  CHECK(w.grad().to_vector<double>() == std::vector<double>{5, 7});
  CHECK_FALSE(data.grad().defined());
}

TEST_CASE("non-leaf gradients are kept on request", "[autograd]") {
  Tensor x = Tensor::from_vector<double>({1, -1}, {2}).set_requires_grad();
  Tensor hidden = scale(x, 2.0).retain_grad();
  sum_all(square(hidden)).backward();
  CHECK(hidden.grad().to_vector<double>() == std::vector<double>{4, -4});
  CHECK(x.grad().to_vector<double>() == std::vector<double>{8, -8});
}

TEST_CASE("backward checks its root and seed", "[autograd]") {
  Tensor x = Tensor::from_vector<double>({1, 2}, {2}).set_requires_grad();
  CHECK_THROWS_WITH(mul(x, x).backward(), Catch::Contains("one-element root"));
  CHECK_THROWS_WITH(Tensor::zeros({1}).backward(), Catch::Contains("does not require gradients"));
  Tensor y = mul(x, x);
  y.backward(Tensor::from_vector<double>({1, 10}, {2}));
  CHECK(x.grad().to_vector<double>() == std::vector<double>{2, 40});
}

TEST_CASE("a deep chain does not overflow the stack", "[autograd]") {
  Tensor x = Tensor::from_vector<double>({1}, {1}).set_requires_grad();
  Tensor y = x;
  for (int i = 0; i < 20000; ++i) y = scale(y, 1.0);
  sum_all(y).backward();
  CHECK(x.grad().item() == 1.0);
}

TEST_CASE("ops reject mismatched operands with the shapes in the message", "[autograd][ops]") {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 5});
  CHECK_THROWS_WITH(matmul(a, b), Catch::Contains("inner dimensions differ"));
  CHECK_THROWS_WITH(add(a, b), Catch::Contains("do not broadcast"));
  CHECK_THROWS_WITH(add(a, Tensor::zeros({2, 3}, DType::Float64)), Catch::Contains("differ in device or dtype"));
  CHECK_THROWS_WITH(sigmoid(Tensor::zeros({2}, DType::Int32)), Catch::Contains("int32 is not supported"));
  CHECK_THROWS_WITH(slice(a, 1, 2, 5), Catch::Contains("slice"));
  CHECK_THROWS_WITH(gather_frames(Tensor::zeros({1, 3, 2}), Tensor::from_vector<int32_t>({3}, {1, 1})),
                    Catch::Contains("outside [0, 3)"));
}

}  // namespace ff
