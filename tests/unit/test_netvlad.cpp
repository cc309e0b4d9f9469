// The NetVLAD aggregation: a hand-computed block output, independence from padded frames (block and whole
// model), unit norm, gradients of the whole model against central differences and parameter counts.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "models/netvlad_block.h"
#include "models/nextvlad.h"
#include "support/tiny_model_config.h"
#include "op_cases/gradient_check.h"
#include "support/parameter_gradients.h"
#include "support/tensor_difference.h"

namespace ff {
namespace {

NeXtVladConfig tiny_netvlad_config() {
  NeXtVladConfig c = test::tiny_model_config();
  c.aggregation = "netvlad";  // groups and expansion unused
  return c;
}

const std::vector<int32_t> kFrameCounts = {5, 2, 1};
constexpr int64_t kBatch = 3, kFrames = 5;

void set_parameter(ParameterSet& parameters, const std::string& name, const std::vector<double>& values) {
  Parameter* p = nullptr;
  for (Parameter& candidate : parameters.all())
    if (candidate.name == name) p = &candidate;
  REQUIRE(p != nullptr);
  p->value.copy_from(Tensor::from_vector(values, p->value.shape()));
}

// Frames past each video's count replaced by large fresh values.
Tensor with_new_padding(const Tensor& frames, const std::vector<int32_t>& counts, uint64_t seed) {
  Generator generator(seed);
  Tensor altered = frames.clone();
  Tensor fresh = Tensor::normal(frames.shape(), 0.0, 5.0, generator, DType::Float64);
  const int64_t length = frames.size(1), dim = frames.size(2);
  for (int64_t b = 0; b < frames.size(0); ++b)
    for (int64_t f = counts[size_t(b)]; f < length; ++f)
      for (int64_t d = 0; d < dim; ++d) {
        const int64_t i = (b * length + f) * dim + d;
        altered.data<double>()[i] = fresh.data<double>()[i];
      }
  return altered;
}

}  // namespace

TEST_CASE("NetVLAD block output of a hand-computed case", "[netvlad]") {
  // N = 2, K = 2. Cluster weights [[ln 3, 0], [0, 0]] give frame x the logits (x_0 ln 3, 0); inference-mode
  // batch norm with running mean 0 and running variance 1 - epsilon is the identity. Centres c_0 = (0, 0),
  // c_1 = (1, 1) (stored [N, K]: [[0, 1], [0, 1]]).
  ParameterSet parameters;
  Generator generator(1);
  ModelInit init{parameters, generator, DType::Float64, Device::cpu()};
  NetVladBlock block("video_vlad", {2, 2}, init);
  BatchNormOptions options;
  set_parameter(parameters, "video_vlad.cluster_weights", {std::log(3.0), 0, 0, 0});
  set_parameter(parameters, "video_vlad.cluster_weights2", {0, 1, 0, 1});
  set_parameter(parameters, "video_vlad.cluster_bn.running_var", {1 - options.epsilon, 1 - options.epsilon});

  // Video 0: frames (1, 0) and (0, 3), then one padded frame. Assignments (3/4, 1/4) and (1/2, 1/2).
  //   cluster 0: 3/4 (1, 0) + 1/2 (0, 3) = (3/4, 3/2);  cluster 1: 1/4 (0, -1) + 1/2 (-1, 2) = (-1/2, 3/4).
  // Video 1: frame (2, -1), then two padded frames. Assignment (9/10, 1/10).
  //   cluster 0: 9/10 (2, -1);  cluster 1: 1/10 (1, -2).
  // Each cluster is scaled to unit length, then the flat vector (d-major: v0[0], v1[0], v0[1], v1[1]) of
  // norm sqrt(2) to unit length.
  Tensor frames = Tensor::from_vector(std::vector<double>{1, 0, 0, 3, 7, -7, 2, -1, 4, 4, -5, 9}, {2, 3, 2});
  Tensor mask = make_frame_mask({2, 1}, 3, DType::Float64, Device::cpu());
  std::vector<double> out = block.forward(frames, mask, false, true, options).to_vector<double>();
  const double r2 = std::sqrt(2.0), n00 = std::sqrt(0.75 * 0.75 + 1.5 * 1.5), n01 = std::sqrt(0.25 + 0.75 * 0.75);
  const std::vector<double> expected = {0.75 / n00 / r2, -0.5 / n01 / r2, 1.5 / n00 / r2, 0.75 / n01 / r2,
                                        2 / std::sqrt(5.0) / r2, 1 / std::sqrt(5.0) / r2,
                                        -1 / std::sqrt(5.0) / r2, -2 / std::sqrt(5.0) / r2};
  REQUIRE(out.size() == expected.size());
  for (size_t i = 0; i < out.size(); ++i) CHECK(out[i] == Approx(expected[i]).epsilon(1e-12));
  CHECK(block.output_size() == 4);

  SECTION("a video without frames encodes to zeros") {
    Tensor empty = make_frame_mask({2, 0}, 3, DType::Float64, Device::cpu());
    std::vector<double> zero = block.forward(frames, empty, false, true, options).to_vector<double>();
    for (size_t i = 4; i < 8; ++i) CHECK(zero[i] == 0.0);
  }
  SECTION("bad inputs are refused") {
    CHECK_THROWS_AS(block.forward(frames, make_frame_mask({2, 1, 1}, 3, DType::Float64, Device::cpu()), false, true,
                                  options),
                    std::invalid_argument);
    CHECK_THROWS_AS(block.forward(reshape(frames, {2, 2, 3}), make_frame_mask({2, 1}, 2, DType::Float64, Device::cpu()),
                                  false, true, options),
                    std::invalid_argument);
  }
}

TEST_CASE("NetVLAD outputs ignore padded frames and have unit norm per block", "[netvlad]") {
  Generator data(31);
  Tensor rgb = Tensor::normal({kBatch, kFrames, 6}, 0.0, 1.0, data, DType::Float64);
  Tensor audio = Tensor::normal({kBatch, kFrames, 4}, 0.0, 1.0, data, DType::Float64);
  Tensor rgb_altered = with_new_padding(rgb, kFrameCounts, 32), audio_altered = with_new_padding(audio, kFrameCounts, 33);
  REQUIRE(test::max_abs_difference(rgb, rgb_altered) > 1.0);

  auto run = [&](const NeXtVladConfig& config, const Tensor& r, const Tensor& a, bool training) {
    Generator init(34), dropout_generator(35);
    NeXtVladModel model(config, init, DType::Float64);
    test::perturb_parameters(model.parameters(), 36);
    return model.forward(r, a, kFrameCounts, training, dropout_generator);
  };
  for (bool training : {true, false}) {
    INFO("training " << training);
    NeXtVladOutput a = run(tiny_netvlad_config(), rgb, audio, training);
    NeXtVladOutput b = run(tiny_netvlad_config(), rgb_altered, audio_altered, training);
    CHECK(test::max_abs_difference(a.encoding, b.encoding) == 0.0);
    CHECK(test::max_abs_difference(a.logits, b.logits) == 0.0);
    // Encoding: rgb 6*4 = 24 values, then audio 4*2 = 8; each block's part has unit norm.
    REQUIRE(a.encoding.shape() == Shape{kBatch, 32});
    for (int64_t v = 0; v < kBatch; ++v) {
      std::vector<double> row = slice(a.encoding, 0, v, v + 1).to_vector<double>();
      double video = 0, sound = 0;
      for (size_t i = 0; i < 24; ++i) video += row[i] * row[i];
      for (size_t i = 24; i < 32; ++i) sound += row[i] * row[i];
      CHECK(video == Approx(1.0).epsilon(1e-12));
      CHECK(sound == Approx(1.0).epsilon(1e-12));
    }
  }

  SECTION("with padded frames in the batch-norm statistics they leak in") {
    NeXtVladConfig leaky = tiny_netvlad_config();
    leaky.bn_excludes_padding = false;
    NeXtVladOutput a = run(leaky, rgb, audio, true), b = run(leaky, rgb_altered, audio_altered, true);
    CHECK(test::max_abs_difference(a.encoding, b.encoding) > 1e-6);
  }
}

TEST_CASE("NeXtVLAD head on NetVLAD: gradients of every parameter and input match central differences", "[netvlad]") {
  Generator init(41);
  NeXtVladModel model(tiny_netvlad_config(), init, DType::Float64);
  test::perturb_parameters(model.parameters(), 42);
  Generator data(43);
  Tensor rgb = Tensor::normal({kBatch, kFrames, 6}, 0.0, 1.0, data, DType::Float64).set_requires_grad();
  Tensor audio = Tensor::normal({kBatch, kFrames, 4}, 0.0, 1.0, data, DType::Float64).set_requires_grad();
  Generator dropout_generator(44);
  auto objective = [&] {
    return test::weighted_objective(model.forward(rgb, audio, kFrameCounts, true, dropout_generator).logits, 45);
  };
  objective().backward();

  std::vector<std::pair<std::string, Tensor>> checked = {{"frames_rgb", rgb}, {"frames_audio", audio}};
  for (const Parameter& p : model.parameters().all())
    if (p.trainable) checked.emplace_back(p.name, p.value);
  REQUIRE(checked.size() == 2 + 8 + 9);  // 4 per NetVLAD block, 9 in the head
  test::NamedGradientReport report = test::check_named_gradients(objective, checked);
  INFO("worst relative error at " << report.where);
  CHECK(report.max_error < 1e-6);
}

TEST_CASE("NetVLAD parameter count, names and encoding size", "[netvlad]") {
  // Tiny config by hand:
  //   rgb block   N=6, K=4: 6*4 + 2*4 + 6*4 = 56;  audio block N=4, K=2: 4*2 + 2*2 + 4*2 = 20
  //   hidden (24 + 8)*8 + 2*8 = 272; gating 8*4 + 2*4 + 4*8 = 72; classifier 8*5 + 5 = 45
  CHECK(parameter_count(tiny_netvlad_config()) == 56 + 20 + 272 + 72 + 45);
  Generator init(51);
  NeXtVladModel model(tiny_netvlad_config(), init, DType::Float64);
  CHECK(model.parameters().trainable_count() == parameter_count(tiny_netvlad_config()));

  // Default (K=128, H=2048, r=8, logistic, 3,862 classes): rgb block 1024*128*2 + 256 = 262,400, audio
  // block 128*64*2 + 128 = 16,512, encoding 1024*128 + 128*64 = 139,264, hidden FC 139,264*2048 =
  // 285,212,672 + BN 4,096, gating 1,049,088, classifier 7,913,238.
  NeXtVladConfig netvlad;
  netvlad.aggregation = "netvlad";
  const int64_t by_hand = 262400 + 16512 + 285212672 + 4096 + 1049088 + 7913238;
  CHECK(by_hand == 294458006);
  CHECK(parameter_count(netvlad) == by_hand);
  netvlad.classifier = "moe";  // with MoE-2, as the WILLOW NetVLAD: the classifier becomes 39,566,190
  CHECK(parameter_count(netvlad) == by_hand - 7913238 + 39566190);

  std::set<std::string> names;
  int buffers = 0;
  for (const Parameter& p : model.parameters().all()) {
    names.insert(p.name);
    if (!p.trainable) ++buffers;
  }
  for (const char* name : {"video_vlad.cluster_weights", "video_vlad.cluster_bn.weight", "video_vlad.cluster_bn.bias",
                           "video_vlad.cluster_weights2", "audio_vlad.cluster_weights", "audio_vlad.cluster_weights2",
                           "hidden.weight", "classifier.weight"})
    CHECK(names.count(name) == 1);
  CHECK(names.count("video_vlad.expansion.weight") == 0);
  CHECK(names.count("video_vlad.vlad_bn.weight") == 0);
  CHECK(buffers == 2 * 4);  // the cluster BNs of both blocks, hidden_bn, gating.bn
  CHECK(model.parameters().find("video_vlad.cluster_weights")->value.shape() == Shape{6, 4});
  CHECK(model.parameters().find("audio_vlad.cluster_weights2")->value.shape() == Shape{4, 2});

  // Groups and expansion do not constrain NetVLAD; an odd cluster count still does (audio uses K/2).
  NeXtVladConfig odd_groups = tiny_netvlad_config();
  odd_groups.groups = 3;
  CHECK_NOTHROW(parameter_count(odd_groups));
  NeXtVladConfig odd_clusters = tiny_netvlad_config();
  odd_clusters.cluster_size = 5;
  CHECK_THROWS_AS(parameter_count(odd_clusters), std::invalid_argument);
}

}  // namespace ff
