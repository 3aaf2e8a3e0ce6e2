// Both directions between the engine and PyTorch, by timm's tensor names and layouts:
// - a checkpoint the engine writes loads into the independent PyTorch twin and gives the same
//   logits (tests/reference/check_checkpoint.py; skipped when Debian's torch is not importable);
// - a state dict the twin wrote, with no vitsweep metadata, loads with --init-from
//   (Trainer::initialize_from) and gives the twin's logits; a file that does not fit the config's
//   model is refused in one line naming the file, the tensor, expected and found.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <map>

#include "data/dataset.hpp"
#include "engine/checkpoint.hpp"
#include "engine/optimizer.hpp"
#include "engine/trainer.hpp"
#include "gradient_check.hpp"
#include "model_fixture.hpp"
#include "support/pytorch_fixtures.hpp"
#include "support/temp_dir.hpp"
#include "support/thrown.hpp"

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
  const std::vector<int64_t> image_shape = {batch, shape.channels, shape.image_height,
                                            shape.image_width};
  std::vector<float> images(
      static_cast<size_t>(batch * shape.channels * shape.image_height * shape.image_width));
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
                      OrderedJson{
                          {"attn", "relu"}, {"alpha", 0.5}, {"pool", "cls"}, {"qk_norm", true}},
                      OrderedJson{{"attn", "gelu"}, {"gate", "silu"}, {"posemb", "sincos2d"}}));

using ::testing::HasSubstr;
using ::testing::Not;

// A model file of tests/fixtures/pytorch and the engine's trainer for the config describing it.
struct PyTorchModel {
  explicit PyTorchModel(const std::string& model,
                        const OrderedJson& overrides = OrderedJson::object())
      : config(parse_trial_config(testing::pytorch_fixture_config(model, overrides), model)),
        dataset(data::load_dataset(config)),
        trainer(config, dataset) {}
  TrialConfig config;
  data::Dataset dataset;
  Trainer trainer;
};

class PyTorchStateDict : public ::testing::TestWithParam<std::string> {};

TEST(PyTorchStateDicts, CarryNoVitsweepMetadata) {
  const auto plain = SafetensorsFile::read(testing::pytorch_fixture("vit_gap"));
  EXPECT_TRUE(plain.metadata().empty());  // safetensors.torch.save_file(model.state_dict(), ...)
  const auto hub = SafetensorsFile::read(testing::pytorch_fixture("vit_cls_qknorm"));
  EXPECT_EQ(hub.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  EXPECT_EQ(hub.find("pos_embed")->shape, (std::vector<int64_t>{1, 4, 16}));  // no_embed_class
  EXPECT_EQ(
      SafetensorsFile::read(testing::pytorch_fixture("vit_gap_bf16")).find("head.weight")->dtype,
      "BF16");
}

TEST_P(PyTorchStateDict, InitFromPutsEveryTensorWhereTheTwinHasIt) {
  const std::string model = GetParam();
  PyTorchModel engine(model);
  EXPECT_EQ(engine.trainer.initialize_from(testing::pytorch_fixture(model)),
            WeightsSource::pytorch_state_dict);
  const SafetensorsFile expected = testing::pytorch_expectations();
  const std::vector<float> images = expected.f32(model + ".images");
  const std::vector<float> want = expected.f32(model + ".logits");
  const float* got =
      engine.trainer.model().forward(images.data(), expected.find(model + ".images")->shape[0]);
  double scale = 0;
  for (float w : want) scale = std::max(scale, std::abs(static_cast<double>(w)));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5 * scale) << i;
}

INSTANTIATE_TEST_SUITE_P(Files, PyTorchStateDict,
                         ::testing::Values("vit_gap", "vit_cls_qknorm", "vit_gap_f64",
                                           "vit_gap_f16", "vit_gap_bf16"));

struct StoredTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};
using StateDict = std::map<std::string, StoredTensor>;

// vit_gap's tensors after `edit`, written to `path` with `metadata`.
void write_edited_vit_gap(const std::string& path, const std::function<void(StateDict&)>& edit,
                          const std::map<std::string, std::string>& metadata = {}) {
  const auto file = SafetensorsFile::read(testing::pytorch_fixture("vit_gap"));
  StateDict tensors;
  for (const auto& t : file.tensors()) tensors[t.name] = {t.shape, file.f32(t.name)};
  edit(tensors);
  SafetensorsWriter writer;
  for (const auto& [name, t] : tensors) writer.add_f32(name, t.shape, t.values.data());
  for (const auto& [key, value] : metadata) writer.set_metadata(key, value);
  writer.write(path);
}

std::string init_error(const std::string& path,
                       const OrderedJson& overrides = OrderedJson::object()) {
  PyTorchModel engine("vit_gap", overrides);
  const std::string message =
      testing::thrown_message([&] { engine.trainer.initialize_from(path); });
  EXPECT_THAT(message, HasSubstr(path + ": "));
  EXPECT_THAT(message, Not(HasSubstr("\n")));
  return message;
}

TEST(PyTorchStateDicts, AShapeTheConfigDoesNotGiveIsNamedWithExpectedAndFound) {
  const std::string file = testing::pytorch_fixture("vit_gap");
  EXPECT_THAT(
      init_error(file, {{"mlp_dim", 32}}),
      HasSubstr("tensor 'blocks.0.mlp.fc1.weight': expected shape [32, 16] from the config, "
                "found [24, 16] (width, mlp_dim,"));
  testing::TempDir dir;
  // timm's default no_embed_class=False: pos_embed has a row for the class token.
  write_edited_vit_gap(dir.file("embed_class.safetensors"), [](StateDict& t) {
    t["cls_token"] = {{1, 1, 16}, std::vector<float>(16, 0.5f)};
    t["pos_embed"] = {{1, 5, 16}, std::vector<float>(80, 0.1f)};
  });
  EXPECT_THAT(init_error(dir.file("embed_class.safetensors"), {{"pool", "cls"}}),
              HasSubstr("tensor 'pos_embed': expected shape [1, 4, 16] from the config, found "
                        "[1, 5, 16] (a position for the class token too: the engine has none "
                        "(timm: no_embed_class=True))"));
}

TEST(PyTorchStateDicts, AMissingOrExtraTensorIsNamedWithTheKeyThatDecidesIt) {
  const std::string file = testing::pytorch_fixture("vit_gap");
  EXPECT_THAT(init_error(file, {{"pool", "cls"}}),
              HasSubstr("no tensor 'cls_token' [1, 1, 16], which the model of this config needs "
                        "(pool=cls has a class token, pool=gap none)"));
  EXPECT_THAT(init_error(file, {{"depth", 3}}), HasSubstr("no tensor 'blocks.2."));
  EXPECT_THAT(init_error(file, {{"depth", 3}}), HasSubstr("(depth sets the number of blocks)"));
  EXPECT_THAT(init_error(file, {{"qk_norm", true}}),
              HasSubstr("no tensor 'blocks.0.attn.q_norm.weight' [8], which the model of this "
                        "config needs (qk_norm=true has it)"));
  testing::TempDir dir;
  write_edited_vit_gap(dir.file("extra.safetensors"), [](StateDict& t) {
    t["cls_token"] = {{1, 1, 16}, std::vector<float>(16, 0.5f)};
  });
  EXPECT_THAT(init_error(dir.file("extra.safetensors")),
              HasSubstr("tensor 'cls_token' [1, 1, 16] is not part of the model of this config "
                        "(pool=cls has a class token, pool=gap none)"));
  // timm's global_pool='avg' without fc_norm=False: LayerNorm after pooling, as fc_norm.*
  write_edited_vit_gap(dir.file("fc_norm.safetensors"), [](StateDict& t) {
    t["fc_norm.weight"] = t.at("norm.weight");
    t["fc_norm.bias"] = t.at("norm.bias");
    t.erase("norm.weight");
    t.erase("norm.bias");
  });
  EXPECT_THAT(init_error(dir.file("fc_norm.safetensors")),
              HasSubstr("no tensor 'norm.weight' [16], which the model of this config needs (the "
                        "engine normalises every token before pooling (norm.*); timm's fc_norm.* "
                        "normalises after it (timm: fc_norm=False))"));
}

TEST(PyTorchStateDicts, OtherNamesOrFormatsAreRefused) {
  testing::TempDir dir;
  // A DistributedDataParallel model's state dict: every name starts with "module.".
  write_edited_vit_gap(dir.file("ddp.safetensors"), [](StateDict& t) {
    StateDict prefixed;
    for (auto& [name, tensor] : t) prefixed["module." + name] = tensor;
    t = prefixed;
  });
  EXPECT_THAT(init_error(dir.file("ddp.safetensors")),
              HasSubstr("none of its 31 tensors has a name of this model (it has "
                        "'module.blocks.0.attn.proj.bias', the model needs"));
  write_edited_vit_gap(dir.file("flax.safetensors"), [](StateDict&) {}, {{"format", "flax"}});
  EXPECT_THAT(init_error(dir.file("flax.safetensors")),
              HasSubstr("__metadata__.format is \"flax\", expected \"vitsweep.checkpoint.v1\" (a "
                        "vitsweep checkpoint), or \"pt\" or none"));
  // resume and eval need the config, the normalisation and the history only a checkpoint has
  const auto plain = SafetensorsFile::read(testing::pytorch_fixture("vit_gap"));
  EXPECT_THAT(testing::thrown_message([&] { read_checkpoint_info(plain); }),
              HasSubstr("a PyTorch state dict without vitsweep metadata (no trial config, "
                        "normalisation or history): start from it with 'sweep train --init-from"));
}

}  // namespace
}  // namespace vitsweep::engine
