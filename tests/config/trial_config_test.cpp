// Resolving a trial's model sizes: presets, explicit sizes, and the MLP size that follows the
// width (timm's mlp_ratio 4) unless mlp_dim is given.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/trial_config.hpp"

namespace vitsweep {
namespace {

TrialConfig config_from(const OrderedJson& settings) {
  return parse_trial_config(settings, "test");
}

TEST(ModelSizes, EveryPresetHasMlpRatioFour) {
  for (const ModelPreset& preset : model_presets()) {
    EXPECT_EQ(preset.mlp_dim, 4 * preset.width) << preset.name;
    const TrialConfig c = config_from({{"model", preset.name}});
    EXPECT_EQ(c.width, preset.width) << preset.name;
    EXPECT_EQ(c.mlp_dim, preset.mlp_dim) << preset.name;
  }
}

TEST(ModelSizes, WidthWithoutMlpDimGivesFourTimesTheWidth) {
  EXPECT_EQ(config_from({{"width", 48}, {"heads", 3}}).mlp_dim, 192);
  EXPECT_EQ(config_from({{"model", "S"}, {"width", 256}, {"heads", 4}}).mlp_dim, 1024);
  EXPECT_EQ(config_from({{"width", 48}, {"heads", 3}, {"mlp_dim", 100}}).mlp_dim, 100);
  EXPECT_EQ(config_from({{"mlp_dim", 100}}).mlp_dim, 100);
  // Without width the preset's (or the default model's) sizes stay.
  EXPECT_EQ(config_from(OrderedJson::object()).mlp_dim, 512);
  EXPECT_EQ(config_from({{"model", "micro"}, {"depth", 2}}).mlp_dim, 256);
}

TEST(ModelSizes, AStoredConfigKeepsItsResolvedSizes) {
  // A trial stored with width 48 and the preset's MLP (before mlp_dim followed the width) has
  // every key in its stored config, so reading it back keeps mlp_dim 512.
  OrderedJson stored = to_json(config_from(OrderedJson::object()));
  stored["width"] = 48;
  stored["heads"] = 3;
  const TrialConfig c = config_from(stored);
  EXPECT_EQ(c.mlp_dim, 512);
  EXPECT_EQ(to_json(c), stored);
}

TEST(AttentionKernel, AutoIsFusedInF32UpToHeadDim16AndMatmulOtherwise) {
  EXPECT_EQ(TrialConfig{}.attn_kernel, "auto");
  EXPECT_EQ(config_from({{"model", "nano"}}).attn_kernel, "fused");   // 32 / 2 heads
  EXPECT_EQ(config_from({{"model", "micro"}}).attn_kernel, "fused");  // 64 / 4
  EXPECT_EQ(config_from({{"model", "mini"}}).attn_kernel, "matmul");  // 128 / 4
  EXPECT_EQ(config_from({{"width", 48}, {"heads", 3}}).attn_kernel, "fused");
  EXPECT_EQ(config_from({{"width", 51}, {"heads", 3}}).attn_kernel, "matmul");
  // bf16 keeps the kernel that rounds the attention core to bf16.
  EXPECT_EQ(config_from({{"model", "nano"}, {"precision", "bf16"}}).attn_kernel, "matmul");
  // A given kernel is kept, and a stored (resolved) config reads back the same.
  EXPECT_EQ(config_from({{"model", "nano"}, {"attn_kernel", "matmul"}}).attn_kernel, "matmul");
  EXPECT_EQ(config_from({{"model", "mini"}, {"attn_kernel", "fused"}}).attn_kernel, "fused");
  const OrderedJson stored = to_json(config_from({{"model", "nano"}}));
  EXPECT_EQ(stored["attn_kernel"], "fused");
  EXPECT_EQ(to_json(config_from(stored)), stored);
}

}  // namespace
}  // namespace vitsweep
