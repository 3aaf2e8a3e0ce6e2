// The fused attention kernel against the matmul path (oneDNN matmuls over stored scores and
// weights, itself checked by finite differences and the PyTorch twin): the same outputs and
// gradients within float32 rounding, for every attention function, head sizes 8..128 and token
// counts that are not multiples of the tiles; qk-norm, gate and class token through the layer;
// memory linear in tokens; the same bits on every run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "engine/attention.hpp"
#include "engine/fused_attention.hpp"
#include "gradient_check.hpp"
#include "model_fixture.hpp"

namespace vitsweep::engine {
namespace {

using testing::fill_normal;

const std::vector<std::string> kAttentionFunctions = {"softmax",  "relu",     "relu2", "gelu",
                                                      "softplus", "identity", "relu6", "sigmoid"};

ModelShape core_shape(const std::string& attn, int64_t tokens, int64_t heads, int64_t head_dim,
                      bool fused) {
  ModelShape s;
  s.tokens = tokens;
  s.heads = heads;
  s.head_dim = head_dim;
  s.width = heads * head_dim;
  s.attention = AttentionFunction::from_name(attn);
  s.alpha = 0.7;
  s.fused_attention = fused;
  return s;
}

// One attention core with its inputs, run forward and backward on either path.
struct CoreRun {
  std::vector<float> out, dq, dk, dv;
};

// `spread`: the standard deviation of q and k (scores spread ~spread^2).
CoreRun run_core(MatmulRunner& mm, const ModelShape& s, int64_t batch, uint64_t seed,
                 double spread = 1.0) {
  const int64_t bnd = batch * s.tokens * s.width;
  AttentionWorkspace work(s, batch);
  AttentionActivations& acts = work.acts;
  AttentionScratch& scratch = work.scratch;
  // Unit-variance q and k give scores of spread ~1, across every h's non-linear range.
  fill_normal(acts.q, bnd, spread, seed);
  fill_normal(acts.k, bnd, spread, seed + 1);
  fill_normal(acts.v, bnd, 1.0, seed + 2);
  std::vector<float> d_out(bnd);
  fill_normal(d_out.data(), bnd, 1.0, seed + 3);
  attention_core_forward(mm, s, acts.q, acts.k, acts, batch);
  attention_core_backward(mm, s, acts.q, acts.k, acts, d_out.data(), scratch.dq, scratch.dk,
                          scratch.dv, scratch, batch);
  return {{acts.heads_out, acts.heads_out + bnd},
          {scratch.dq, scratch.dq + bnd},
          {scratch.dk, scratch.dk + bnd},
          {scratch.dv, scratch.dv + bnd}};
}

double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, static_cast<double>(std::abs(x)));
  return m;
}

// Every element within `relative` of `scale` (default: the reference's largest magnitude):
// float32 sums of up to a few hundred terms, in a different order, differ by a few ulp of the
// sum's scale.
void expect_close(const std::string& what, const std::vector<float>& got,
                  const std::vector<float>& want, double scale = 0, double relative = 1e-5) {
  ASSERT_EQ(got.size(), want.size()) << what;
  const double tolerance = relative * std::max(scale, max_abs(want));
  int reported = 0;
  for (size_t i = 0; i < want.size() && reported < 5; ++i) {
    if (!(std::abs(got[i] - want[i]) <= tolerance)) {
      ++reported;
      ADD_FAILURE() << what << "[" << i << "]: fused " << got[i] << ", matmul " << want[i]
                    << ", tolerance " << tolerance;
    }
  }
}

struct CoreCase {
  std::string attn;
  int64_t head_dim;
};

class FusedAttentionCore : public ::testing::TestWithParam<CoreCase> {};

TEST_P(FusedAttentionCore, MatchesMatmulPathForwardAndBackward) {
  const CoreCase& c = GetParam();
  MatmulRunner mm;
  // Token counts below, between and above the 48-query / 64-key tiles, none a multiple of them.
  for (int64_t tokens : {1, 5, 17, 50, 197}) {
    SCOPED_TRACE("tokens " + std::to_string(tokens));
    const int64_t batch = 2, heads = 2;
    const CoreRun fused =
        run_core(mm, core_shape(c.attn, tokens, heads, c.head_dim, true), batch, 100 + tokens);
    const CoreRun matmul =
        run_core(mm, core_shape(c.attn, tokens, heads, c.head_dim, false), batch, 100 + tokens);
    // Softmax's dq and dk cancel to ~0 for a single key (dS = P (dP - D) with P = 1, dP = D),
    // leaving only rounding of the size of dP's: judge them against dv's scale (|dO| |P|).
    const double scale = max_abs(matmul.dv);
    expect_close("out", fused.out, matmul.out);
    expect_close("dq", fused.dq, matmul.dq, scale);
    expect_close("dk", fused.dk, matmul.dk, scale);
    expect_close("dv", fused.dv, matmul.dv);
  }
}

// 784 tokens (S/8 at 224: 13 key tiles, 16 query tiles) with scores spread ~16: the online
// softmax's running maximum moves many times along a row, and the rescaling of the partial output
// must be exact to float rounding.
TEST(FusedAttentionCore, LongSequencesWithLargeScoresMatchTheMatmulPath) {
  MatmulRunner mm;
  for (const std::string attn : {"softmax", "relu"}) {
    SCOPED_TRACE(attn);
    const int64_t batch = 1, heads = 2, head_dim = 32, tokens = 784;
    const CoreRun fused =
        run_core(mm, core_shape(attn, tokens, heads, head_dim, true), batch, 7, /*spread=*/4.0);
    const CoreRun matmul =
        run_core(mm, core_shape(attn, tokens, heads, head_dim, false), batch, 7, /*spread=*/4.0);
    const double scale = max_abs(matmul.dv);
    expect_close("out", fused.out, matmul.out);
    expect_close("dq", fused.dq, matmul.dq, scale);
    expect_close("dk", fused.dk, matmul.dk, scale);
    expect_close("dv", fused.dv, matmul.dv);
  }
}

std::vector<CoreCase> core_cases() {
  std::vector<CoreCase> cases;
  for (const auto& attn : kAttentionFunctions) {
    for (int64_t head_dim : {8, 16, 24, 32, 64, 128}) cases.push_back({attn, head_dim});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(EveryFunctionAndHeadSize, FusedAttentionCore,
                         ::testing::ValuesIn(core_cases()), [](const auto& info) {
                           return info.param.attn + "_hd" + std::to_string(info.param.head_dim);
                         });

// The whole attention layer (projections, qk-norm, gate) with each kernel, the same parameters.
struct LayerCase {
  std::string name;
  OrderedJson overrides;
};

struct LayerRun {
  std::vector<float> out, d_xn, grads;
};

LayerRun run_layer(const TrialConfig& config, int64_t batch) {
  testing::AttentionLayerFixture layer(config, batch, 61);
  const int64_t n = layer.size();
  LayerRun run{std::vector<float>(n), std::vector<float>(n), {}};
  std::vector<float> xn(n), d_out(n);
  fill_normal(xn.data(), n, 1.0, 62);
  fill_normal(d_out.data(), n, 1.0, 63);
  attention_forward(layer.mm, layer.shape, layer.params, xn.data(), layer.acts, run.out.data(),
                    batch);
  attention_backward(layer.mm, layer.shape, layer.params, layer.param_grads, xn.data(), layer.acts,
                     d_out.data(), run.d_xn.data(), layer.scratch, batch);
  for (const auto& t : layer.layout.tensors()) {
    if (t.name.starts_with("blocks.0.attn.")) {
      const float* g = layer.grads.data() + t.offset;
      run.grads.insert(run.grads.end(), g, g + t.size);
    }
  }
  return run;
}

class FusedAttentionLayer : public ::testing::TestWithParam<LayerCase> {};

TEST_P(FusedAttentionLayer, MatchesMatmulPath) {
  // 28x28 images in patches of 4: 49 tokens, 50 with the class token; width 48 in 3 heads of 16.
  OrderedJson settings = {{"synthetic_size", 28}, {"patch", 4}, {"width", 48}, {"heads", 3}};
  for (const auto& [k, v] : GetParam().overrides.items()) settings[k] = v;
  settings["attn_kernel"] = "fused";
  const LayerRun fused = run_layer(testing::tiny_config(settings), 3);
  settings["attn_kernel"] = "matmul";
  const LayerRun matmul = run_layer(testing::tiny_config(settings), 3);
  expect_close("out", fused.out, matmul.out);
  expect_close("d_xn", fused.d_xn, matmul.d_xn);
  expect_close("parameter gradients", fused.grads, matmul.grads);
}

std::vector<LayerCase> layer_cases() {
  std::vector<LayerCase> cases;
  for (const auto& attn : kAttentionFunctions) {
    cases.push_back({attn, {{"attn", attn}}});
    cases.push_back({attn + "_qknorm", {{"attn", attn}, {"qk_norm", true}}});
    cases.push_back({attn + "_gate", {{"attn", attn}, {"gate", "silu"}}});
    cases.push_back({attn + "_cls_qknorm_gate",
                     {{"attn", attn}, {"pool", "cls"}, {"qk_norm", true}, {"gate", "sigmoid"}}});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Variants, FusedAttentionLayer, ::testing::ValuesIn(layer_cases()),
                         [](const auto& info) { return info.param.name; });

// Floats the attention layer reserves (forward activations and backward scratch) for a batch.
int64_t attention_arena_floats(const ModelShape& s, int64_t batch) {
  return AttentionWorkspace(s, batch).floats();
}

TEST(FusedAttentionMemory, GrowsLinearlyInTokens) {
  for (const std::string attn : {"softmax", "relu"}) {
    SCOPED_TRACE(attn);
    const int64_t batch = 4;
    auto floats = [&](int64_t tokens, bool fused) {
      return attention_arena_floats(core_shape(attn, tokens, 6, 64, fused), batch);
    };
    // 4x the tokens: 4x the memory, up to the 16-float rounding of each view.
    EXPECT_LE(floats(784, true), 4 * floats(196, true) + 64);
    EXPECT_GE(floats(784, true), 4 * floats(196, true) - 64);
    // The matmul path's [B, H, N, N] scores, weights and their gradient grow 16x: the check can
    // tell the two apart.
    EXPECT_GT(floats(784, false), 10 * floats(196, false));
  }
}

TEST(FusedAttentionMemory, ReservesNoScoreMatrices) {
  for (const std::string attn : {"softmax", "relu"}) {
    const AttentionWorkspace work(core_shape(attn, 197, 6, 64, true), 2);
    const AttentionActivations& acts = work.acts;
    const AttentionScratch& scratch = work.scratch;
    EXPECT_EQ(acts.scores, nullptr) << attn;
    EXPECT_EQ(acts.weights, nullptr) << attn;
    EXPECT_EQ(scratch.d_weights, nullptr) << attn;
    EXPECT_EQ(scratch.d_scores, nullptr) << attn;
    EXPECT_EQ(acts.kept_scores, nullptr) << attn;  // 197 keys take more than one tile
    // Softmax keeps one log-sum-exp per query row; the point-wise family keeps nothing.
    EXPECT_EQ(acts.lse != nullptr, attn == "softmax") << attn;
  }
}

TEST(FusedAttentionDeterminism, SameBitsOnEveryRun) {
  MatmulRunner mm;
  for (const std::string attn : {"softmax", "relu", "gelu"}) {
    SCOPED_TRACE(attn);
    const ModelShape s = core_shape(attn, 197, 6, 32, true);
    const CoreRun first = run_core(mm, s, 3, 7);
    const CoreRun second = run_core(mm, s, 3, 7);
    EXPECT_EQ(first.out, second.out);
    EXPECT_EQ(first.dq, second.dq);
    EXPECT_EQ(first.dk, second.dk);
    EXPECT_EQ(first.dv, second.dv);
  }
}

// Each (image, head) is one task that walks its tiles in a fixed order, so an image's result
// cannot depend on the batch around it, on how tasks are split between threads, or on their
// count: the same bits for image 1 of a batch of 3 and for image 1 alone.
TEST(FusedAttentionDeterminism, ImageAloneEqualsImageInBatch) {
  for (const std::string attn : {"softmax", "relu2"}) {
    SCOPED_TRACE(attn);
    const int64_t batch = 3, tokens = 61, heads = 4, head_dim = 16, width = heads * head_dim;
    const int64_t image = tokens * width, n = batch * image;
    std::vector<float> q(n), k(n), v(n), d_out(n);
    fill_normal(q.data(), n, 1.0, 91);
    fill_normal(k.data(), n, 1.0, 92);
    fill_normal(v.data(), n, 1.0, 93);
    fill_normal(d_out.data(), n, 1.0, 94);
    AttentionCoreShape shape{.function = AttentionFunction::from_name(attn),
                             .length_scale = 0.25f,
                             .batch = batch,
                             .tokens = tokens,
                             .heads = heads,
                             .head_dim = head_dim};
    struct Result {
      std::vector<float> out, lse, dq, dk, dv;
    };
    auto run = [&](const AttentionCoreShape& s, int64_t first) {
      const int64_t count = s.batch * image, at = first * image;
      Result r{std::vector<float>(count), std::vector<float>(s.batch * heads * tokens),
               std::vector<float>(count), std::vector<float>(count), std::vector<float>(count)};
      fused_attention_forward(s, q.data() + at, k.data() + at, v.data() + at, r.out.data(),
                              r.lse.data());
      fused_attention_backward(s, q.data() + at, k.data() + at, v.data() + at, r.out.data(),
                               r.lse.data(), /*kept_scores=*/nullptr, d_out.data() + at,
                               r.dq.data(), r.dk.data(), r.dv.data());
      return r;
    };
    const Result all = run(shape, 0);
    shape.batch = 1;
    const Result alone = run(shape, 1);
    auto image_1 = [&](const std::vector<float>& x) {
      return std::vector<float>(x.begin() + image, x.begin() + 2 * image);
    };
    EXPECT_EQ(image_1(all.out), alone.out);
    EXPECT_EQ(image_1(all.dq), alone.dq);
    EXPECT_EQ(image_1(all.dk), alone.dk);
    EXPECT_EQ(image_1(all.dv), alone.dv);
  }
}

// When the keys fit one tile the forward keeps the scores and the backward reads them instead of
// computing Q K^T again: the same bits as recomputing them, and the kept block is S (zero in the
// padding columns). From 96 keys (two tiles) nothing is kept.
TEST(FusedAttentionKeptScores, GiveTheBitsOfRecomputedScores) {
  for (const int64_t tokens : {16, 49, 61, 95}) {
    for (const std::string attn : {"softmax", "relu2", "sigmoid"}) {
      SCOPED_TRACE(attn + " at " + std::to_string(tokens) + " tokens");
      const int64_t batch = 3, heads = 2, head_dim = 16, n = batch * tokens * heads * head_dim;
      const int64_t ld = (tokens + 15) / 16 * 16;
      std::vector<float> q(n), k(n), v(n), d_out(n);
      fill_normal(q.data(), n, 1.0, 61);
      fill_normal(k.data(), n, 1.0, 62);
      fill_normal(v.data(), n, 1.0, 63);
      fill_normal(d_out.data(), n, 1.0, 64);
      const AttentionCoreShape shape{.function = AttentionFunction::from_name(attn),
                                     .length_scale = 0.3f,
                                     .batch = batch,
                                     .tokens = tokens,
                                     .heads = heads,
                                     .head_dim = head_dim};
      ASSERT_EQ(fused_attention_kept_score_floats(shape), batch * heads * tokens * ld);
      struct Result {
        std::vector<float> out, lse, dq, dk, dv;
      };
      auto run = [&](float* kept) {
        Result r{std::vector<float>(n), std::vector<float>(batch * heads * tokens),
                 std::vector<float>(n), std::vector<float>(n), std::vector<float>(n)};
        fused_attention_forward(shape, q.data(), k.data(), v.data(), r.out.data(), r.lse.data(),
                                kept);
        fused_attention_backward(shape, q.data(), k.data(), v.data(), r.out.data(), r.lse.data(),
                                 kept, d_out.data(), r.dq.data(), r.dk.data(), r.dv.data());
        return r;
      };
      std::vector<float> kept(fused_attention_kept_score_floats(shape), std::nanf(""));
      const Result with_kept = run(kept.data()), recomputed = run(nullptr);
      EXPECT_EQ(with_kept.out, recomputed.out);
      EXPECT_EQ(with_kept.lse, recomputed.lse);
      EXPECT_EQ(with_kept.dq, recomputed.dq);
      EXPECT_EQ(with_kept.dk, recomputed.dk);
      EXPECT_EQ(with_kept.dv, recomputed.dv);
      std::vector<float> scores(batch * heads * tokens * tokens);
      fused_attention_scores(shape, q.data(), k.data(), scores.data());
      for (int64_t row = 0; row < batch * heads * tokens; ++row) {
        for (int64_t j = 0; j < ld; ++j) {
          const float want = j < tokens ? scores[row * tokens + j] : 0.0f;
          ASSERT_EQ(kept[row * ld + j], want) << "row " << row << ", key " << j;
        }
      }
    }
  }
  for (const int64_t tokens : {96, 197}) {
    const AttentionCoreShape shape{.function = AttentionFunction::from_name("relu"),
                                   .batch = 2,
                                   .tokens = tokens,
                                   .heads = 2,
                                   .head_dim = 16};
    EXPECT_EQ(fused_attention_kept_score_floats(shape), 0) << tokens << " tokens";
  }
}

// The scores the kink detection of the gradient checks sees are those the kernel computes.
TEST(FusedAttentionScores, MatchQueriesDotKeysOverRootHeadDim) {
  const int64_t batch = 2, tokens = 70, heads = 3, head_dim = 24, width = heads * head_dim;
  std::vector<float> q(batch * tokens * width), k(q.size()),
      scores(batch * heads * tokens * tokens);
  fill_normal(q.data(), q.size(), 1.0, 81);
  fill_normal(k.data(), k.size(), 1.0, 82);
  const AttentionCoreShape shape{.function = AttentionFunction::from_name("relu"),
                                 .length_scale = 1.0f,
                                 .batch = batch,
                                 .tokens = tokens,
                                 .heads = heads,
                                 .head_dim = head_dim};
  fused_attention_scores(shape, q.data(), k.data(), scores.data());
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < heads; ++h) {
      for (int64_t i = 0; i < tokens; i += 7) {
        for (int64_t j = 0; j < tokens; j += 3) {
          double dot = 0;
          for (int64_t t = 0; t < head_dim; ++t) {
            dot += static_cast<double>(q[(b * tokens + i) * width + h * head_dim + t]) *
                   k[(b * tokens + j) * width + h * head_dim + t];
          }
          EXPECT_NEAR(scores[((b * heads + h) * tokens + i) * tokens + j],
                      dot / std::sqrt(static_cast<double>(head_dim)), 1e-5);
        }
      }
    }
  }
}

}  // namespace
}  // namespace vitsweep::engine
