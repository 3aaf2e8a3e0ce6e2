#include "sweep/expansion.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "sweep_test_support.hpp"

namespace vitsweep::sweep {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::sweep_from;
using testing::trial_labels;
using testing::usage_error;

TEST(Expansion, FirstAxisOutermostSeedsInnermost) {
  const SweepSpec spec = sweep_from(R"({"name": "x",
    "grid": {"attn": ["relu", "gelu"], "alpha": [0, 0.5, 1]}, "seeds": 2})");
  EXPECT_THAT(trial_labels(spec, {"attn", "alpha", "seed"}),
              ElementsAre("relu 0.0 s0", "relu 0.0 s1", "relu 0.5 s0", "relu 0.5 s1", "relu 1.0 s0",
                          "relu 1.0 s1", "gelu 0.0 s0", "gelu 0.0 s1", "gelu 0.5 s0", "gelu 0.5 s1",
                          "gelu 1.0 s0", "gelu 1.0 s1"));
  EXPECT_EQ(grid_size(spec), 12u);
}

TEST(Expansion, PositionsSettingsAndVaried) {
  const SweepSpec spec = sweep_from(R"({"name": "x", "base": {"epochs": 3, "attn": "relu"},
    "grid": {"alpha": [0, 1]}, "seeds": [5, 9]})");
  const auto trials = expand(spec);
  ASSERT_EQ(trials.size(), 4u);
  for (size_t i = 0; i < trials.size(); ++i) EXPECT_EQ(trials[i].position, int64_t(i));
  EXPECT_EQ(trials[3].settings.dump(), R"({"epochs":3,"attn":"relu","alpha":1,"seed":9})");
  EXPECT_EQ(trials[3].varied.dump(), R"({"alpha":1,"seed":9})");
  EXPECT_EQ(trials[3].origin, "grid");
  EXPECT_EQ(trials[3].config.epochs, 3);
  EXPECT_EQ(trials[3].config.seed, 9);
  EXPECT_EQ(trials[3].hash, trial_hash(trials[3].config));
  EXPECT_EQ(trials[3].identity, normalize_config(trials[3].config));
}

TEST(Expansion, SeedsAsACountAndWithout) {
  EXPECT_THAT(trial_labels(sweep_from(R"({"name": "x", "seeds": 3})"), {"seed"}),
              ElementsAre("s0", "s1", "s2"));
  EXPECT_THAT(trial_labels(sweep_from(R"({"name": "x", "seeds": [0, 7]})"), {"seed"}),
              ElementsAre("s0", "s7"));
  // No seeds: every trial keeps base's seed.
  EXPECT_THAT(trial_labels(sweep_from(R"({"name": "x", "base": {"seed": 4, "attn": "relu"},
                                          "grid": {"alpha": [0, 1]}})"),
                           {"alpha", "seed"}),
              ElementsAre("0.0 s4", "1.0 s4"));
}

TEST(Expansion, ZipGroupsMoveInLockstep) {
  const SweepSpec spec = sweep_from(R"({"name": "x", "grid": {"depth": [2, 4]},
    "zip": [{"width": [64, 96, 128], "heads": [2, 3, 4]}]})");
  EXPECT_EQ(grid_size(spec), 6u);
  EXPECT_THAT(trial_labels(spec, {"depth", "width", "heads"}),
              ElementsAre("2 64 2", "2 96 3", "2 128 4", "4 64 2", "4 96 3", "4 128 4"));
}

TEST(Expansion, ExcludeDropsGridTrialsAndIncludesComeLast) {
  const SweepSpec spec = sweep_from(R"({"name": "x",
    "grid": {"attn": ["relu", "gelu"], "alpha": [0, 1]},
    "exclude": [{"attn": "gelu", "alpha": 0}],
    "include": [{"attn": "softmax", "lr": 0.01}, {"attn": "gelu", "alpha": 0, "depth": 2}],
    "seeds": 2})");
  EXPECT_EQ(grid_size(spec), 12u);
  // The excluded combination stays when an include asks for it explicitly.
  EXPECT_THAT(trial_labels(spec, {"attn", "alpha", "depth", "seed"}),
              ElementsAre("relu 0.0 6 s0", "relu 0.0 6 s1", "relu 1.0 6 s0", "relu 1.0 6 s1",
                          "gelu 1.0 6 s0", "gelu 1.0 6 s1", "softmax 1.0 6 s0", "softmax 1.0 6 s1",
                          "gelu 0.0 2 s0", "gelu 0.0 2 s1"));
  const auto trials = expand(spec);
  EXPECT_EQ(trials[6].origin, "include[0]");
  EXPECT_EQ(trials[6].varied.dump(), R"({"attn":"softmax","lr":0.01,"seed":0})");
  EXPECT_EQ(trials[9].position, 9);
}

TEST(Expansion, ExcludeComparesTypedValues) {
  // alpha is a real key: exclude's 1 matches the grid's 1.0, and 0.0 matches 0.
  const SweepSpec spec = sweep_from(R"({"name": "x", "base": {"attn": "relu"},
    "grid": {"alpha": [0, 1.0, 2], "depth": [2, 3]},
    "exclude": [{"alpha": 1}, {"alpha": 0.0, "depth": 3.0}]})");
  EXPECT_THAT(trial_labels(spec, {"alpha", "depth"}), ElementsAre("0.0 2", "2.0 2", "2.0 3"));
}

TEST(Expansion, ExcludeMatchesTheParsedConfig) {
  // The model preset sets width: an exclude on width sees it.
  const SweepSpec spec = sweep_from(R"({"name": "x", "grid": {"model": ["nano", "micro", "mini"]},
                     "exclude": [{"width": 64}]})");
  EXPECT_THAT(trial_labels(spec, {"model", "width"}), ElementsAre("nano 32", "mini 128"));
}

TEST(Expansion, IncludeOnlyTrialsAddToTheBaseTrial) {
  const SweepSpec spec = sweep_from(R"({"name": "x", "base": {"attn": "relu"},
    "include": [{"alpha": 0.5}, {"alpha": 1}]})");
  // With no axes the grid is the single base trial (alpha 1), which the second include repeats.
  EXPECT_EQ(grid_size(spec), 3u);
  EXPECT_THAT(trial_labels(spec, {"alpha"}), ElementsAre("1.0", "0.5"));
}

TEST(Expansion, SetBeatsGridAndCollapsesTheAxis) {
  SweepSpec spec = sweep_from(R"({"name": "x", "base": {"attn": "relu"},
    "grid": {"alpha": [0, 0.5], "depth": [2, 3]}, "include": [{"alpha": 0.25}]})");
  apply_overrides(spec, {"alpha=2"}, {});
  const auto trials = expand(spec);
  // alpha 0 and 0.5 both became 2, so only depth still varies; the include's alpha became 2 too.
  ASSERT_EQ(trials.size(), 3u);
  EXPECT_EQ(trials[0].settings["alpha"], 2);
  EXPECT_THAT(trial_labels(spec, {"alpha", "depth"}), ElementsAre("2.0 2", "2.0 3", "2.0 6"));
  EXPECT_EQ(trials[2].origin, "include[0]");
}

TEST(Expansion, GridOverrideReplacesAndAdds) {
  SweepSpec spec = sweep_from(R"({"name": "x", "base": {"attn": "relu"},
    "grid": {"alpha": [0, 0.5]}})");
  apply_overrides(spec, {}, {"alpha=1,2,3", "depth=2,4"});
  EXPECT_THAT(trial_labels(spec, {"alpha", "depth"}),
              ElementsAre("1.0 2", "1.0 4", "2.0 2", "2.0 4", "3.0 2", "3.0 4"));
}

TEST(Expansion, DuplicateTrialsKeepTheFirst) {
  const SweepSpec spec = sweep_from(R"({"name": "x", "grid": {"attn": ["relu", "softmax"],
    "alpha": [0, 0.5, 1]}, "include": [{"attn": "relu", "alpha": 0.5}]})");
  const auto trials = expand(spec);
  EXPECT_EQ(grid_size(spec), 7u);
  // softmax ignores alpha: one trial, carrying the first alpha; the include repeats relu 0.5.
  EXPECT_THAT(trial_labels(spec, {"attn", "alpha"}),
              ElementsAre("relu 0.0", "relu 0.5", "relu 1.0", "softmax 0.0"));
}

TEST(Expansion, InvalidTrialNamesFileTrialAndValues) {
  const SweepSpec spec = sweep_from(R"({"name": "x", "grid": {"width": [96, 100], "heads": [3]}})");
  EXPECT_EQ(usage_error([&] { expand(spec); }),
            "sweeps/x.json: trial 1 (width=100, heads=3): width 100 is not divisible by heads 3 "
            "(head dimension must be whole)");
  const SweepSpec seeded = sweep_from(R"({"name": "x", "include": [{"patch": 5}], "seeds": 2})");
  EXPECT_THAT(usage_error([&] { expand(seeded); }),
              HasSubstr("sweeps/x.json: trial 2 (include[0]: patch=5, seed=0): patch 5 does not "
                        "divide the 28x28 images of fashion-mnist"));
}

TEST(Expansion, ExcludeCanDropCombinationsThatWouldNotValidate) {
  const SweepSpec spec = sweep_from(R"({"name": "x", "grid": {"width": [96, 100], "heads": [3, 4]},
    "exclude": [{"width": 100, "heads": 3}]})");
  EXPECT_THAT(trial_labels(spec, {"width", "heads"}), ElementsAre("96 3", "96 4", "100 4"));
}

TEST(Expansion, HugeGridIsCountedNotBuilt) {
  // 20^7 = 1.28e9 trials: counting and the first few must not touch the rest.
  const SweepSpec spec = sweep_from(R"({"name": "huge", "base": {"attn": "relu"},
    "grid": {"lr": {"linspace": [0.001, 0.02, 20]},
             "weight_decay": {"range": [0, 1.9, 0.1]},
             "label_smoothing": {"linspace": [0, 0.95, 20]},
             "clip_norm": {"range": [0, 19, 1]},
             "warmup_steps": {"range": [0, 190, 10]},
             "epochs": {"range": [1, 20, 1]},
             "alpha": {"linspace": [0, 1.9, 20]}}})");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(grid_size(spec), 1'280'000'000u);
  std::vector<double> alphas;
  for_each_trial(spec, [&](const PlannedTrial& trial) {
    alphas.push_back(trial.config.alpha);
    return alphas.size() < 10;
  });
  EXPECT_EQ(alphas, (std::vector<double>{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_THAT(usage_error([&] { expand(spec); }),
              HasSubstr("sweeps/x.json: the sweep has up to 1280000000 trials (20 (lr) x 20 "
                        "(weight_decay) x 20 (label_smoothing) x 20 (clip_norm) x 20 "
                        "(warmup_steps) x 20 (epochs) x 20 (alpha)), more than the limit of "
                        "100000; narrow the grid"));
}

TEST(Expansion, GridSizeSaturates) {
  SweepSpec spec;
  Axis axis{{"alpha"}, std::vector<std::vector<OrderedJson>>(1u << 13, {OrderedJson(0)}), "big"};
  for (int i = 0; i < 8; ++i) spec.axes.push_back(axis);  // 2^104 points
  EXPECT_EQ(grid_size(spec), UINT64_MAX);
  EXPECT_THAT(describe_grid_size(spec), HasSubstr("= more than 2^64"));
}

TEST(Expansion, DescribeGridSize) {
  const SweepSpec spec = sweep_from(R"({"name": "x", "grid": {"attn": ["relu", "gelu"],
    "alpha": [0, 0.5, 1, 1.5, 2]}, "zip": [{"width": [64, 128], "heads": [2, 4]}],
    "include": [{"attn": "softmax"}], "seeds": 3})");
  EXPECT_EQ(describe_grid_size(spec),
            "2 (attn) x 5 (alpha) x 2 (width+heads) x 3 seeds + 1 include x 3 seeds = 63");
}

TEST(Expansion, VisitCanStopEarly) {
  const SweepSpec spec = sweep_from(R"({"name": "x", "seeds": 10})");
  int visits = 0;
  for_each_trial(spec, [&](const PlannedTrial&) { return ++visits < 3; });
  EXPECT_EQ(visits, 3);
}

TEST(Expansion, ExpandLimitCountsTheUpperBound) {
  const SweepSpec spec = sweep_from(R"({"name": "x", "seeds": 5})");
  EXPECT_EQ(expand(spec, 5).size(), 5u);
  EXPECT_THAT(usage_error([&] { expand(spec, 4); }),
              HasSubstr("up to 5 trials (1 (base) x 5 seeds), more than the limit of 4"));
}

}  // namespace
}  // namespace vitsweep::sweep
