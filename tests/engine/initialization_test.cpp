// The training initialisation of a fresh model (method.md; parameters.hpp), by its statistics:
// every other engine test overwrites the weights, so this is the one place the real
// initialisation is checked. Every tensor of the model must match one rule below.
#include <gtest/gtest.h>

#include <cmath>

#include "data/dataset.hpp"
#include "engine/trainer.hpp"

namespace vitsweep::engine {
namespace {

struct Stats {
  double mean = 0, std = 0, max_abs = 0, beyond_two_std = 0;  // the last as a fraction
};

Stats stats_of(const float* p, int64_t n) {
  Stats s;
  for (int64_t i = 0; i < n; ++i) s.mean += p[i];
  s.mean /= static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) {
    s.std += (p[i] - s.mean) * (p[i] - s.mean);
    s.max_abs = std::max(s.max_abs, std::abs(static_cast<double>(p[i])));
  }
  s.std = std::sqrt(s.std / static_cast<double>(n - 1));
  for (int64_t i = 0; i < n; ++i) s.beyond_two_std += std::abs(p[i] - s.mean) > 2 * s.std;
  s.beyond_two_std /= static_cast<double>(n);
  return s;
}

bool all_equal(const float* p, int64_t n, float value) {
  for (int64_t i = 0; i < n; ++i) {
    if (p[i] != value) return false;
  }
  return true;
}

// Xavier-uniform on one fan_out x fan_in matrix: U(-b, b), b = sqrt(6 / (fan_in + fan_out)).
// With n >= 2048 draws, P(max |w| < 0.99 b) = 0.99^n < 1e-8, so the maximum must be within 1%
// of the bound, and nothing may exceed it (a single bound for the fused [3D, D] qkv matrix
// would be sqrt(1/2) b for q, k and v). The sample std of n uniform draws has a relative
// standard error of about 0.45 / sqrt(n) (<= 1% here): within 5% of b / sqrt(3).
void expect_xavier_uniform(const std::string& name, const float* p, int64_t fan_out,
                           int64_t fan_in) {
  SCOPED_TRACE(name);
  const int64_t n = fan_out * fan_in;
  ASSERT_GE(n, 2048) << "too few draws for these bounds";
  const double bound = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  const Stats s = stats_of(p, n);
  EXPECT_LE(s.max_abs, static_cast<float>(bound));
  EXPECT_GT(s.max_abs, 0.99 * bound);
  EXPECT_NEAR(s.std / (bound / std::sqrt(3.0)), 1.0, 0.05);
  EXPECT_LT(std::abs(s.mean), 5 * bound / std::sqrt(3.0 * static_cast<double>(n)));
}

TEST(Initialization, FreshModelFollowsTheSpecification) {
  // The default model (mini/4: D 128, MLP 512, 49 patches) on 28x28 images, with a class token,
  // qk-norm and a gate so that every kind of tensor is present.
  const TrialConfig config = parse_trial_config({{"dataset", "synthetic"},
                                                 {"synthetic_size", 28},
                                                 {"synthetic_train", 8},
                                                 {"synthetic_test", 8},
                                                 {"pool", "cls"},
                                                 {"qk_norm", true},
                                                 {"gate", "silu"},
                                                 {"seed", 7}},
                                                "test");
  const data::Dataset dataset = data::load_dataset(config);
  Trainer trainer(config, dataset);
  VisionTransformer& model = trainer.model();
  const int64_t d = model.shape().width;
  ASSERT_EQ(d, 128);
  ASSERT_EQ(model.shape().mlp_dim, 512);
  int64_t checked = 0;
  for (const TensorInfo& t : model.layout().tensors()) {
    SCOPED_TRACE(t.name);
    const float* p = model.parameters().data() + t.offset;
    const std::string& name = t.name;
    ++checked;
    if (name == "pos_embed") {
      // N(0, 0.02) over n = 49 x 128 = 6272 draws: the sample std has a relative standard error
      // of 1 / sqrt(2n) = 0.9%, so 5% is 5.6 standard errors; the mean's standard error is
      // 0.02 / sqrt(n) = 2.5e-4 (5x: 1.3e-3). A normal has 4.55% of its draws beyond 2 std
      // (standard error 0.26 points here; a uniform of that std has none).
      const Stats s = stats_of(p, t.size);
      EXPECT_NEAR(s.std / 0.02, 1.0, 0.05);
      EXPECT_LT(std::abs(s.mean), 1.3e-3);
      EXPECT_NEAR(s.beyond_two_std, 0.0455, 0.013);
    } else if (name == "cls_token") {
      // N(0, 1e-6) as timm (not 0: see Init::normal_1e_6). 128 draws: every one nonzero and
      // the sample std within 25% (its relative standard error is 1 / sqrt(256) = 6%).
      const Stats s = stats_of(p, t.size);
      EXPECT_NEAR(s.std / 1e-6, 1.0, 0.25);
      EXPECT_LT(s.max_abs, 6e-6);
      for (int64_t i = 0; i < t.size; ++i) EXPECT_NE(p[i], 0.0f) << i;
    } else if (name == "head.weight" || name.ends_with(".bias")) {
      EXPECT_TRUE(all_equal(p, t.size, 0.0f)) << "must be exactly 0";
    } else if (name.ends_with("norm1.weight") || name.ends_with("norm2.weight") ||
               name == "norm.weight" || name.ends_with("q_norm.weight") ||
               name.ends_with("k_norm.weight")) {
      EXPECT_TRUE(all_equal(p, t.size, 1.0f)) << "LayerNorm scales must be exactly 1";
    } else if (name.ends_with("attn.qkv.weight")) {
      // q, k and v: three square D x D matrices, each with its own fans.
      for (int64_t part = 0; part < 3; ++part) {
        expect_xavier_uniform(name + " part " + std::to_string(part), p + part * d * d, d, d);
      }
    } else if (name == "patch_embed.proj.weight") {
      // The p x p convolution as the linear map of a flattened patch: [D, C p p].
      expect_xavier_uniform(name, p, d, t.size / d);
    } else if (name.ends_with(".weight") && t.shape.size() == 2) {
      expect_xavier_uniform(name, p, t.shape[0], t.shape[1]);  // proj, gate, fc1, fc2
    } else {
      ADD_FAILURE() << "no initialisation rule for " << name;
      --checked;
    }
  }
  EXPECT_EQ(checked, static_cast<int64_t>(model.layout().tensors().size()));
}

TEST(Initialization, SameSeedSameWeightsOtherSeedOtherWeights) {
  const OrderedJson settings = {
      {"dataset", "synthetic"}, {"synthetic_train", 8}, {"synthetic_test", 8}, {"model", "nano/4"}};
  auto weights = [&](int64_t seed) {
    OrderedJson s = settings;
    s["seed"] = seed;
    const TrialConfig config = parse_trial_config(s, "test");
    const data::Dataset dataset = data::load_dataset(config);
    Trainer trainer(config, dataset);
    const FloatBuffer& p = trainer.model().parameters();
    return std::vector<float>(p.data(), p.data() + p.size());
  };
  EXPECT_EQ(weights(1), weights(1));
  EXPECT_NE(weights(1), weights(2));
}

}  // namespace
}  // namespace vitsweep::engine
