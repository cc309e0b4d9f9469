// The NeXtVLAD model on a tiny configuration in float64: gradients of every parameter and input against
// central finite differences, independence from padded frames, output shapes and parameter counts.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>
#include <string>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "models/nextvlad.h"
#include "support/tiny_model_config.h"
#include "models/nextvlad_block.h"
#include "models/nextvlad_cost.h"
#include "op_cases/gradient_check.h"
#include "support/parameter_gradients.h"
#include "support/tensor_difference.h"

namespace ff {
namespace {

NeXtVladConfig tiny_config() { return test::tiny_model_config(); }

const std::vector<int32_t> kFrameCounts = {5, 2, 1};
constexpr int64_t kBatch = 3, kFrames = 5;

struct TinyInputs {
  Tensor rgb, audio;
};

TinyInputs tiny_inputs(uint64_t seed) {
  Generator generator(seed);
  return {Tensor::normal({kBatch, kFrames, 6}, 0.0, 1.0, generator, DType::Float64),
          Tensor::normal({kBatch, kFrames, 4}, 0.0, 1.0, generator, DType::Float64)};
}

}  // namespace

TEST_CASE("NeXtVLAD gradients of every parameter and input match central differences", "[nextvlad]") {
  Generator init(7);
  NeXtVladModel model(tiny_config(), init, DType::Float64);
  test::perturb_parameters(model.parameters(), 11);
  TinyInputs inputs = tiny_inputs(3);
  inputs.rgb.set_requires_grad();
  inputs.audio.set_requires_grad();

  Generator dropout_generator(5);
  auto objective = [&]() {
    NeXtVladOutput out = model.forward(inputs.rgb, inputs.audio, kFrameCounts, /*training=*/true, dropout_generator);
    return test::weighted_objective(out.logits, 99);
  };
  objective().backward();

  std::vector<std::pair<std::string, Tensor>> checked = {{"frames_rgb", inputs.rgb}, {"frames_audio", inputs.audio}};
  for (const Parameter& p : model.parameters().all())
    if (p.trainable) checked.emplace_back(p.name, p.value);
  REQUIRE(checked.size() == 2 + 29);  // 10 per NeXtVLAD block, 9 in the head

  test::NamedGradientReport report = test::check_named_gradients(objective, checked);
  INFO("worst relative error at " << report.where);
  CHECK(report.max_error < 1e-6);
}

// Same inputs except the padded frames, which get fresh large values.
TinyInputs with_new_padding(const TinyInputs& inputs, uint64_t seed) {
  Generator generator(seed);
  TinyInputs altered{inputs.rgb.clone(), inputs.audio.clone()};
  for (Tensor* t : {&altered.rgb, &altered.audio}) {
    const int64_t dim = t->size(2);
    Tensor fresh = Tensor::normal(t->shape(), 0.0, 5.0, generator, DType::Float64);
    for (int64_t b = 0; b < kBatch; ++b)
      for (int64_t f = kFrameCounts[size_t(b)]; f < kFrames; ++f)
        for (int64_t d = 0; d < dim; ++d) {
          const int64_t i = (b * kFrames + f) * dim + d;
          t->data<double>()[i] = fresh.data<double>()[i];
        }
  }
  return altered;
}

TEST_CASE("NeXtVLAD outputs ignore the values of padded frames when BN excludes padding", "[nextvlad]") {
  TinyInputs inputs = tiny_inputs(23);
  TinyInputs altered = with_new_padding(inputs, 24);
  REQUIRE(test::max_abs_difference(inputs.rgb, altered.rgb) > 1.0);
  REQUIRE(test::max_abs_difference(inputs.audio, altered.audio) > 1.0);

  auto run = [&](const NeXtVladConfig& config, const TinyInputs& in, bool training) {
    Generator init(21), dropout_generator(25);
    NeXtVladModel model(config, init, DType::Float64);
    test::perturb_parameters(model.parameters(), 22);
    return model.forward(in.rgb, in.audio, kFrameCounts, training, dropout_generator);
  };

  for (bool training : {true, false}) {
    INFO("training " << training);
    NeXtVladOutput a = run(tiny_config(), inputs, training), b = run(tiny_config(), altered, training);
    CHECK(test::max_abs_difference(a.logits, b.logits) == 0.0);
    CHECK(test::max_abs_difference(a.encoding, b.encoding) == 0.0);
    CHECK(test::max_abs_difference(a.hidden, b.hidden) == 0.0);
  }

  SECTION("whereas statistics over padded frames (the TF behaviour) let them leak in") {
    NeXtVladConfig leaky = tiny_config();
    leaky.bn_excludes_padding = false;
    NeXtVladOutput a = run(leaky, inputs, true), b = run(leaky, altered, true);
    CHECK(test::max_abs_difference(a.logits, b.logits) > 1e-6);
  }
}

TEST_CASE("NeXtVLAD output shapes follow the config and the input length", "[nextvlad]") {
  Generator init(31), dropout_generator(32);
  NeXtVladConfig config = tiny_config();
  config.dropout_rate = 0.5;
  NeXtVladModel model(config, init, DType::Float64);
  TinyInputs inputs = tiny_inputs(33);
  NeXtVladOutput out = model.forward(inputs.rgb, inputs.audio, kFrameCounts, true, dropout_generator);
  // Encoding: rgb K*lambda*N/G = 4*12/2 = 24, audio (K/2)*lambda*N/(G/2) = 2*8/1 = 16.
  CHECK(out.logits.shape() == Shape{3, 5});
  CHECK(out.encoding.shape() == Shape{3, 40});
  CHECK(out.hidden.shape() == Shape{3, 8});

  SECTION("a student passes fewer frames than max_frames") {
    Tensor rgb = slice(inputs.rgb, 1, 0, 3), audio = slice(inputs.audio, 1, 0, 3);
    NeXtVladOutput student = model.forward(rgb, audio, {3, 2, 1}, false, dropout_generator);
    CHECK(student.logits.shape() == Shape{3, 5});
    CHECK_THROWS_AS(model.forward(rgb, audio, {4, 2, 1}, false, dropout_generator), std::invalid_argument);
  }
  SECTION("bad inputs are refused") {
    CHECK_THROWS_AS(model.forward(inputs.rgb, inputs.audio, {5, 2}, false, dropout_generator), std::invalid_argument);
    CHECK_THROWS_AS(model.forward(inputs.audio, inputs.rgb, kFrameCounts, false, dropout_generator),
                    std::invalid_argument);
    Generator g(1);
    Tensor longer = Tensor::normal({3, 6, 6}, 0, 1, g, DType::Float64);
    Tensor longer_audio = Tensor::normal({3, 6, 4}, 0, 1, g, DType::Float64);
    CHECK_THROWS_AS(model.forward(longer, longer_audio, kFrameCounts, false, dropout_generator), std::invalid_argument);
  }

  NeXtVladBlockShape video{1024, 128, 8, 2}, audio{128, 64, 4, 2};
  CHECK(video.output_size() + audio.output_size() == 36864);
}

TEST_CASE("NeXtVLAD parameter count, names and regularisation", "[nextvlad]") {
  // Tiny config by hand:
  //   rgb block   N=6 -> 12, G=2, K=4, D_g=6: 12*6+12 + 2*12+2 + 12*8 + 2*8 + 6*4 + 2*24 = 294
  //   audio block N=4 -> 8,  G=1, K=2, D_g=8:  8*4+8  + 1*8+1  + 8*2  + 2*2 + 8*2 + 2*16 = 117
  //   hidden 40*8 + 2*8 = 336; gating 8*4 + 2*4 + 4*8 = 72; classifier 8*5 + 5 = 45
  CHECK(parameter_count(tiny_config()) == 294 + 117 + 336 + 72 + 45);
  Generator init(41);
  NeXtVladModel model(tiny_config(), init, DType::Float64);
  CHECK(model.parameters().trainable_count() == parameter_count(tiny_config()));

  // Default (the reference's "local" config): rgb block 4,313,096, audio block 112,388, hidden FC
  // 36864*2048 = 75,497,472 + BN 4,096, gating 2048*256*2 + 512 = 1,049,088, classifier 2048*3862 + 3862
  // = 7,913,238: 88,889,378 (reference §2.6: 88.9M; running statistics excluded).
  const int64_t by_hand = 4313096 + 112388 + 75497472 + 4096 + 1049088 + 7913238;
  CHECK(by_hand == 88889378);
  CHECK(parameter_count(NeXtVladConfig{}) == by_hand);
  CHECK(std::fabs(double(parameter_count(NeXtVladConfig{})) - 88.89e6) <= 0.01e6);

  std::set<std::string> names, regularized;
  int buffers = 0;
  for (const Parameter& p : model.parameters().all()) {
    names.insert(p.name);
    if (p.l2_regularized) regularized.insert(p.name);
    if (!p.trainable) ++buffers;
  }
  for (const char* name : {"video_vlad.expansion.weight", "video_vlad.expansion.bias", "video_vlad.attention.weight",
                           "video_vlad.cluster_weights", "video_vlad.cluster_bn.weight", "video_vlad.cluster_bn.running_var",
                           "video_vlad.cluster_weights2", "video_vlad.vlad_bn.bias", "audio_vlad.cluster_weights",
                           "hidden.weight", "hidden_bn.running_mean", "gating.fc1.weight", "gating.bn.weight",
                           "gating.fc2.weight", "classifier.weight", "classifier.bias"})
    CHECK(names.count(name) == 1);
  CHECK(regularized == std::set<std::string>{"classifier.weight", "classifier.bias"});
  CHECK(buffers == 2 * 6);  // running mean and variance of the 6 batch norms
  CHECK_THROWS_AS([] {
    NeXtVladConfig unknown = tiny_config();
    unknown.classifier = "softmax";
    return parameter_count(unknown);
  }(), std::invalid_argument);
  CHECK_THROWS_AS([] {
    NeXtVladConfig unknown = tiny_config();
    unknown.aggregation = "fisher";
    return parameter_count(unknown);
  }(), std::invalid_argument);
}

}  // namespace ff

TEST_CASE("NeXtVLAD config: the JSON form round-trips and rejects unknown fields", "[nextvlad]") {
  ff::NeXtVladConfig config;
  config.cluster_size = 16;
  config.groups = 4;
  config.dropout_rate = 0.25;
  config.bn_excludes_padding = false;
  config.aggregation = "netvlad";
  config.classifier = "moe";
  config.moe_mixtures = 3;
  ff::NeXtVladConfig back = ff::nextvlad_config_from_json(ff::to_json(config));
  CHECK(back.cluster_size == 16);
  CHECK(back.groups == 4);
  CHECK(back.dropout_rate == 0.25);
  CHECK_FALSE(back.bn_excludes_padding);
  CHECK(back.aggregation == "netvlad");
  CHECK(back.classifier == "moe");
  CHECK(back.moe_mixtures == 3);
  CHECK(ff::to_json(back) == ff::to_json(config));
  CHECK(ff::nextvlad_config_from_json(nlohmann::json::object()).cluster_size == 128);  // absent: the default
  CHECK_THROWS_WITH(ff::nextvlad_config_from_json({{"clusters", 3}}), Catch::Matchers::Contains("clusters"));
  CHECK_THROWS_WITH(ff::nextvlad_config_from_json({{"groups", "eight"}}), Catch::Matchers::Contains("groups"));
}

TEST_CASE("NeXtVLAD cost: the default model's FLOPs match the cost model of the reference", "[nextvlad]") {
  // shared/reference/performance-and-style.md §2.3-2.4: video expand and cluster GEMMs 629M MACs each at
  // 300 frames, aggregation 79M, attention + audio 40M; forward 2.93 GFLOP; student k=10 0.261 GFLOP.
  ff::NeXtVladCost cost = ff::nextvlad_cost(ff::NeXtVladConfig{});
  CHECK(cost.frame_flops(300) / 2 == Approx(629.1e6 * 2 + 78.6e6 + 39.6e6).epsilon(0.01));
  CHECK(cost.forward_flops(300) == Approx(2.93e9).epsilon(0.01));
  CHECK(cost.forward_flops(10) == Approx(0.261e9).epsilon(0.01));
  CHECK(cost.forward_flops(10) / cost.forward_flops(300) == Approx(0.09).epsilon(0.05));
}
