#include <gtest/gtest.h>

#include "sweep/labels.hpp"
#include "sweep_test_support.hpp"

namespace vitsweep::sweep {
namespace {

using testing::sweep_from;

TEST(Labels, NameOnlyTheKeysThatVaryInConfigKeyOrder) {
  const auto trials = expand(sweep_from(R"({"name": "x", "base": {"epochs": 1},
    "grid": {"attn": ["softmax", "relu"], "alpha": [0.5, 1]}, "seeds": 2})"));
  EXPECT_EQ(varying_keys(trials), (std::vector<std::string>{"attn", "alpha", "seed"}));
  const auto labels = trial_labels(trials);
  ASSERT_EQ(labels.size(), 6u);
  EXPECT_EQ(labels.at(trials[0].hash), "attn=softmax seed=0");
  EXPECT_EQ(labels.at(trials[3].hash), "attn=relu alpha=0.5 seed=1");
  EXPECT_EQ(labels.at(trials[5].hash), "attn=relu alpha=1 seed=1");
}

}  // namespace
}  // namespace vitsweep::sweep
