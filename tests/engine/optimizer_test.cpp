// The optimizer's settings come from a trial's config in one place
// (OptimizerSettings::from_config), which the trainer, the benchmark and the twin test all use.
#include <gtest/gtest.h>

#include "engine/optimizer.hpp"
#include "model_fixture.hpp"

namespace vitsweep::engine {
namespace {

TEST(OptimizerSettings, FromConfigTakesEveryOptimizerKey) {
  // Every value differs from both the config's and the struct's defaults.
  const TrialConfig config = testing::tiny_config({{"optimizer", "sgd"},
                                                   {"weight_decay", 0.125},
                                                   {"beta1", 0.5},
                                                   {"beta2", 0.75},
                                                   {"eps", 0.25},
                                                   {"momentum", 0.375},
                                                   {"clip_norm", 2.5}});
  const OptimizerSettings s = OptimizerSettings::from_config(config);
  EXPECT_EQ(s.kind, "sgd");
  EXPECT_EQ(s.weight_decay, 0.125);
  EXPECT_EQ(s.beta1, 0.5);
  EXPECT_EQ(s.beta2, 0.75);
  EXPECT_EQ(s.eps, 0.25);
  EXPECT_EQ(s.momentum, 0.375);
  EXPECT_EQ(s.clip_norm, 2.5);
}

}  // namespace
}  // namespace vitsweep::engine
