// A checkpoint the engine writes loads into the independent PyTorch twin by timm's tensor names
// and layouts, and gives the same logits (tests/reference/check_checkpoint.py). Skipped when
// Debian's torch is not importable.
#include <gtest/gtest.h>

#include <cstdlib>

#include "engine/checkpoint.hpp"
#include "engine/optimizer.hpp"
#include "gradient_check.hpp"
#include "model_fixture.hpp"
#include "support/temp_dir.hpp"

namespace vitsweep::engine {
namespace {

class CheckpointInterop : public ::testing::TestWithParam<OrderedJson> {};

TEST_P(CheckpointInterop, PyTorchTwinLoadsItAndAgreesOnLogits) {
  if (std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "/usr/bin/python3 cannot import torch (scripts/setup.sh --tests installs it)";
  }
  testing::TempDir dir;
  const TrialConfig config = testing::tiny_config(GetParam());
  const ModelShape shape = ModelShape::from_config(config);
  MatmulRunner mm;
  VisionTransformer model(shape, mm);
  testing::randomize_parameters(model.layout(), model.parameters().data(), 77);
  Optimizer optimizer(model.layout(), {});
  data::Normalization norm{{0.5f, 0.5f}, {0.25f, 0.25f}};
  write_checkpoint(dir.file("model.safetensors"), config, model, optimizer, norm, 0, {});

  const int64_t batch = 3;
  const std::vector<int64_t> image_shape = {batch, shape.channels, shape.image_height, shape.image_width};
  std::vector<float> images(static_cast<size_t>(batch * shape.channels * shape.image_height * shape.image_width));
  testing::fill_normal(images.data(), static_cast<int64_t>(images.size()), 1.0, 78);
  const float* logits = model.forward(images.data(), batch);
  SafetensorsWriter probe;
  probe.add_f32("input.images", image_shape, images.data());
  probe.add_f32("output.logits", {batch, shape.classes}, logits);
  probe.write(dir.file("probe.safetensors"));

  const std::string command = "/usr/bin/python3 " VITSWEEP_SOURCE_DIR
                              "/tests/reference/check_checkpoint.py " +
                              dir.file("model.safetensors") + " " + dir.file("probe.safetensors");
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << command;
}

INSTANTIATE_TEST_SUITE_P(
    Configs, CheckpointInterop,
    ::testing::Values(OrderedJson{{"attn", "softmax"}},
                      OrderedJson{{"attn", "relu"}, {"alpha", 0.5}, {"pool", "cls"}, {"qk_norm", true}},
                      OrderedJson{{"attn", "gelu"}, {"gate", "silu"}, {"posemb", "sincos2d"}}));

}  // namespace
}  // namespace vitsweep::engine
