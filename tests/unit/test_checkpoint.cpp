#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "support/temporary_directory.h"
#include "engine/atomic_file.h"
#include "engine/checkpoint.h"

using namespace ff;
using Catch::Matchers::Contains;

using test::TemporaryDirectory;

namespace {


std::string read_text(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), {});
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary);
  file << text;
}

// A small model: two trainable parameters and a buffer, like a linear layer with batch norm.
void register_model(ParameterSet& parameters, DType dtype = DType::Float32) {
  parameters.add("layer.weight", Tensor::zeros({2, 3}, dtype));
  parameters.add("layer.bias", Tensor::zeros({3}, DType::Float64));
  parameters.add_buffer("bn.running_mean", Tensor::zeros({3}, dtype));
}

}  // namespace

TEST_CASE("atomic write replaces the file and leaves no temporary", "[atomic_file]") {
  TemporaryDirectory directory;
  std::string path = directory.file("out.txt");
  write_text(path, "old contents");
  write_file_atomically(path, [](AtomicFileWriter& file) {
    file.write("new ", 4);
    file.write("contents", 8);
  });
  CHECK(read_text(path) == "new contents");
  CHECK(directory.entries() == std::vector<std::string>{"out.txt"});
}

TEST_CASE("atomic write that fails mid-way keeps the old file and removes the temporary", "[atomic_file]") {
  TemporaryDirectory directory;
  std::string path = directory.file("out.txt");
  write_text(path, "old contents");
  std::string temporary;
  CHECK_THROWS_WITH(write_file_atomically(path,
                                          [&](AtomicFileWriter& file) {
                                            temporary = file.temporary_path();
                                            file.write("half of the new", 15);
                                            // The temporary really is there while the write is under way.
                                            REQUIRE(std::filesystem::exists(temporary));
                                            throw std::runtime_error("producer failed");
                                          }),
                    "producer failed");
  CHECK(temporary.rfind(path + ".tmp.", 0) == 0);
  CHECK(read_text(path) == "old contents");
  CHECK(directory.entries() == std::vector<std::string>{"out.txt"});
}

TEST_CASE("atomic write into a missing directory names the path and the reason", "[atomic_file]") {
  TemporaryDirectory directory;
  std::string path = directory.file("no/such/dir/out.txt");
  CHECK_THROWS_AS(write_file_atomically(path, [](AtomicFileWriter&) {}), std::runtime_error);
  CHECK_THROWS_WITH(write_file_atomically(path, [](AtomicFileWriter&) {}),
                    Contains(path) && Contains("No such file or directory"));
  CHECK(directory.entries().empty());
}

TEST_CASE("atomic write whose rename fails removes the temporary", "[atomic_file]") {
  TemporaryDirectory directory;
  // A non-empty directory under the target name: everything succeeds up to the rename.
  std::string path = directory.file("taken");
  std::filesystem::create_directories(path + "/inside");
  CHECK_THROWS_WITH(write_file_atomically(path, [](AtomicFileWriter& file) { file.write("x", 1); }),
                    Contains(path) && Contains("renaming"));
  CHECK(directory.entries() == std::vector<std::string>{"taken"});
  CHECK(std::filesystem::is_directory(path + "/inside"));
}

TEST_CASE("checkpoint round trip of parameters, buffers, extra tensors and metadata", "[checkpoint]") {
  TemporaryDirectory directory;
  std::string path = directory.file("model.safetensors");
  Generator generator(7);
  ParameterSet saved;
  saved.add("layer.weight", Tensor::normal({2, 3}, 0.0, 1.0, generator));
  saved.add("layer.bias", Tensor::normal({3}, 0.0, 1.0, generator, DType::Float64));
  saved.add_buffer("bn.running_mean", Tensor::normal({3}, 0.0, 1.0, generator));
  Tensor momentum = Tensor::normal({2, 3}, 0.0, 1.0, generator);
  Tensor step = Tensor::from_vector(std::vector<int64_t>{1234}, {});
  save_checkpoint(path, saved, {{"optimizer.momentum.layer.weight", momentum}, {"optimizer.step", step}},
                  {{"epoch", "4"}, {"git", "abc123"}});

  // The file holds the parameters in registration order, then the extras.
  SafetensorsContents file = read_safetensors(path);
  std::vector<std::string> names;
  for (const auto& [name, tensor] : file.tensors) names.push_back(name);
  CHECK(names == std::vector<std::string>{"layer.weight", "layer.bias", "bn.running_mean",
                                          "optimizer.momentum.layer.weight", "optimizer.step"});

  ParameterSet loaded;
  register_model(loaded);
  Tensor weight_handle = loaded.find("layer.weight")->value;  // the load copies into the existing tensors
  CheckpointContents contents = load_checkpoint_into(path, loaded, LoadOptions{.allow_extra_tensors = true});
  CHECK(weight_handle.to_vector<float>() == saved.find("layer.weight")->value.to_vector<float>());
  CHECK(loaded.find("layer.bias")->value.to_vector<double>() == saved.find("layer.bias")->value.to_vector<double>());
  CHECK(loaded.find("bn.running_mean")->value.to_vector<float>() ==
        saved.find("bn.running_mean")->value.to_vector<float>());
  CHECK(loaded.find("layer.weight")->value.requires_grad());
  CHECK_FALSE(loaded.find("bn.running_mean")->value.requires_grad());

  REQUIRE(contents.extra.size() == 2);
  CHECK(contents.extra[0].first == "optimizer.momentum.layer.weight");
  CHECK(contents.extra[0].second.to_vector<float>() == momentum.to_vector<float>());
  CHECK(contents.extra[1].first == "optimizer.step");
  CHECK(contents.extra[1].second.shape().empty());
  CHECK(contents.extra[1].second.to_vector<int64_t>() == std::vector<int64_t>{1234});
  CHECK(contents.metadata == StringMap{{"epoch", "4"}, {"git", "abc123"}});
}

TEST_CASE("checkpoint load refuses extra tensors unless allowed", "[checkpoint]") {
  TemporaryDirectory directory;
  std::string path = directory.file("model.safetensors");
  ParameterSet saved;
  register_model(saved);
  save_checkpoint(path, saved, {{"optimizer.step", Tensor::zeros({1}, DType::Int64)}});

  ParameterSet loaded;
  register_model(loaded);
  CHECK_THROWS_WITH(load_checkpoint_into(path, loaded),
                    Contains(path) && Contains("unexpected tensors (allow_extra_tensors ignores them): optimizer.step"));
  CHECK_NOTHROW(load_checkpoint_into(path, loaded, {.allow_extra_tensors = true}));
}

TEST_CASE("checkpoint load lists every missing, extra, mis-shaped and mistyped tensor at once", "[checkpoint]") {
  TemporaryDirectory directory;
  std::string path = directory.file("model.safetensors");
  ParameterSet saved;
  saved.add("layer.weight", Tensor::full({2, 3}, 1.0));
  saved.add("layer.bias", Tensor::full({3}, 1.0, DType::Float64));
  saved.add("head.weight", Tensor::full({4}, 1.0));
  saved.add("old.gate", Tensor::full({5}, 1.0));
  saved.add_buffer("bn.running_mean", Tensor::full({3}, 1.0));
  save_checkpoint(path, saved);

  ParameterSet loaded;
  loaded.add("layer.weight", Tensor::zeros({3, 2}));  // mis-shaped
  loaded.add("layer.bias", Tensor::zeros({3}));       // float32 where the file has float64
  loaded.add("head.weight", Tensor::zeros({4, 1}));   // mis-shaped
  loaded.add("new.gate", Tensor::zeros({5}));         // missing from the file
  loaded.add_buffer("bn.running_var", Tensor::zeros({3}));  // missing from the file
  loaded.add_buffer("bn.running_mean", Tensor::zeros({3}));  // fine

  std::string message;
  try {
    load_checkpoint_into(path, loaded);
  } catch (const std::runtime_error& error) {
    message = error.what();
  }
  CHECK_THAT(message, Contains(path));
  CHECK_THAT(message, Contains("missing tensors: new.gate, bn.running_var"));
  CHECK_THAT(message, Contains("unexpected tensors (allow_extra_tensors ignores them): old.gate"));
  CHECK_THAT(message, Contains("mis-shaped tensors: layer.weight (expected [3, 2], found [2, 3]), "
                               "head.weight (expected [4, 1], found [4])"));
  CHECK_THAT(message, Contains("tensors of another dtype: layer.bias (expected float32, found float64)"));
  CHECK_THAT(message, !Contains("bn.running_mean"));

  // Nothing was copied: a failed load leaves every parameter as it was.
  CHECK(loaded.find("bn.running_mean")->value.to_vector<float>() == std::vector<float>(3, 0.0f));
}

TEST_CASE("checkpoint save rejects an extra tensor named like a parameter", "[checkpoint]") {
  TemporaryDirectory directory;
  std::string path = directory.file("model.safetensors");
  ParameterSet parameters;
  register_model(parameters);
  CHECK_THROWS_WITH(save_checkpoint(path, parameters, {{"layer.bias", Tensor::zeros({3})}}),
                    Contains(path) && Contains("extra tensor \"layer.bias\" has the name of a parameter"));
  CHECK(directory.entries().empty());
}

TEST_CASE("a failed checkpoint save keeps the previous checkpoint", "[checkpoint]") {
  TemporaryDirectory directory;
  std::string path = directory.file("model.safetensors");
  ParameterSet parameters;
  parameters.add("w", Tensor::full({2}, 3.0));
  save_checkpoint(path, parameters);
  const std::string before = read_text(path);

  // A save that fails must leave the previous checkpoint readable and no temporary behind.
  CHECK_THROWS(save_checkpoint(path, parameters, {{"broken", Tensor()}}));
  CHECK(read_text(path) == before);
  CHECK(directory.entries() == std::vector<std::string>{"model.safetensors"});

  ParameterSet loaded;
  loaded.add("w", Tensor::zeros({2}));
  load_checkpoint_into(path, loaded);
  CHECK(loaded.find("w")->value.to_vector<float>() == std::vector<float>{3.0f, 3.0f});
}

TEST_CASE("checkpoint load reports a corrupt file with its path", "[checkpoint]") {
  TemporaryDirectory directory;
  std::string path = directory.file("model.safetensors");
  write_text(path, "not a checkpoint at all");
  ParameterSet parameters;
  register_model(parameters);
  CHECK_THROWS_WITH(load_checkpoint_into(path, parameters), Contains(path) && Contains("header length"));
}
