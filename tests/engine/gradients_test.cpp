// Finite-difference checks of every backward: LayerNorm, linear, the attention weight functions,
// the losses, the attention layer for every attention function with and without qk-norm and gate,
// and the whole model (class-token and sin-cos variants included), each with both attention
// kernels (fused and matmul).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/attention.hpp"
#include "engine/attention_weights.hpp"
#include "engine/elementwise.hpp"
#include "engine/layernorm.hpp"
#include "engine/linear.hpp"
#include "engine/loss.hpp"
#include "engine/vit.hpp"
#include "gradient_check.hpp"
#include "model_fixture.hpp"

namespace vitsweep::engine {
namespace {

using testing::expect_gradient_matches;
using testing::fill_normal;
using testing::probe_loss;

const std::vector<std::string> kAttentionFunctions = {"softmax",  "relu",     "relu2", "gelu",
                                                      "softplus", "identity", "relu6", "sigmoid"};

TEST(LayerNormGradient, MatchesFiniteDifferences) {
  const int64_t rows = 5, cols = 12;
  std::vector<float> x(rows * cols), w(cols), b(cols), y(rows * cols), r(rows * cols);
  std::vector<float> mean(rows), rstd(rows), dx(rows * cols), dw(cols), db(cols);
  fill_normal(x.data(), rows * cols, 1.0, 1);
  fill_normal(w.data(), cols, 0.5, 2);
  for (auto& v : w) v += 1.0f;
  fill_normal(b.data(), cols, 0.3, 3);
  fill_normal(r.data(), rows * cols, 1.0, 4);
  auto loss = [&] {
    layernorm_forward(x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(), rows, cols);
    return probe_loss(y.data(), r.data(), rows * cols);
  };
  loss();
  layernorm_backward(r.data(), x.data(), w.data(), mean.data(), rstd.data(), dx.data(), dw.data(),
                     db.data(), rows, cols);
  expect_gradient_matches("dx", x.data(), dx.data(), rows * cols, loss, 100, 5);
  expect_gradient_matches("dweight", w.data(), dw.data(), cols, loss, 100, 6);
  expect_gradient_matches("dbias", b.data(), db.data(), cols, loss, 100, 7);
}

// Both ways the weight gradient is computed: dy^T x (out <= in) and (x^T dy)^T (out > in).
class LinearGradient : public ::testing::TestWithParam<std::pair<int64_t, int64_t>> {};

TEST_P(LinearGradient, MatchesFiniteDifferences) {
  MatmulRunner mm;
  const int64_t rows = 4, in = GetParam().first, out = GetParam().second;
  std::vector<float> x(rows * in), w(out * in), b(out), y(rows * out), r(rows * out);
  std::vector<float> dx(rows * in), dw(out * in), db(out);
  fill_normal(x.data(), x.size(), 1.0, 1);
  fill_normal(w.data(), w.size(), 0.5, 2);
  fill_normal(b.data(), b.size(), 0.5, 3);
  fill_normal(r.data(), r.size(), 1.0, 4);
  auto loss = [&] {
    linear_forward(mm, x.data(), w.data(), b.data(), y.data(), rows, in, out);
    return probe_loss(y.data(), r.data(), rows * out);
  };
  linear_backward(mm, r.data(), x.data(), w.data(), dx.data(), dw.data(), db.data(), rows, in, out);
  expect_gradient_matches("dx", x.data(), dx.data(), dx.size(), loss, 100, 5);
  expect_gradient_matches("dweight", w.data(), dw.data(), dw.size(), loss, 100, 6);
  expect_gradient_matches("dbias", b.data(), db.data(), db.size(), loss, 100, 7);
}

INSTANTIATE_TEST_SUITE_P(InAndOut, LinearGradient,
                         ::testing::Values(std::pair<int64_t, int64_t>{6, 5},
                                           std::pair<int64_t, int64_t>{5, 18}));

class AttentionWeightsGradient : public ::testing::TestWithParam<std::string> {};

TEST_P(AttentionWeightsGradient, MatchesFiniteDifferences) {
  const AttentionFunction fn = AttentionFunction::from_name(GetParam());
  const int64_t rows = 3, cols = 7;
  std::vector<float> s(rows * cols), a(rows * cols), r(rows * cols), ds(rows * cols);
  fill_normal(s.data(), s.size(), 2.0, 11);
  fill_normal(r.data(), r.size(), 1.0, 12);
  auto loss = [&] {
    attention_weights_forward(fn, s.data(), a.data(), rows, cols);
    return probe_loss(a.data(), r.data(), rows * cols);
  };
  loss();
  attention_weights_backward(fn, s.data(), a.data(), r.data(), ds.data(), rows, cols);
  expect_gradient_matches("dscores", s.data(), ds.data(), ds.size(), loss, 100, 13);
}

INSTANTIATE_TEST_SUITE_P(EveryAttentionFunction, AttentionWeightsGradient,
                         ::testing::ValuesIn(kAttentionFunctions));

// Softmax rows sum to 1, so a gradient that is constant along a row has no effect on the scores;
// the point-wise family has no such constraint: its dS is h'(S) dA with no row-sum term.
TEST(AttentionWeightsGradient, SoftmaxKeepsRowSumTermAndPointwiseHasNone) {
  const int64_t rows = 4, cols = 9;
  std::vector<float> s(rows * cols), a(rows * cols), da(rows * cols), ds(rows * cols);
  fill_normal(s.data(), s.size(), 1.5, 21);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) da[r * cols + c] = 0.25f * static_cast<float>(r + 1);
  }
  const AttentionFunction softmax = AttentionFunction::from_name("softmax");
  attention_weights_forward(softmax, s.data(), a.data(), rows, cols);
  attention_weights_backward(softmax, s.data(), a.data(), da.data(), ds.data(), rows, cols);
  for (float v : ds) EXPECT_NEAR(v, 0.0f, 1e-7f) << "softmax lost its row-sum term";

  const AttentionFunction relu = AttentionFunction::from_name("relu");
  std::fill(ds.begin(), ds.end(), 0.0f);  // the backward adds into it
  attention_weights_forward(relu, s.data(), a.data(), rows, cols);
  attention_weights_backward(relu, s.data(), a.data(), da.data(), ds.data(), rows, cols);
  for (int64_t i = 0; i < rows * cols; ++i) {
    const float expected = s[i] > 0 ? da[i] : 0.0f;
    EXPECT_EQ(ds[i], expected) << "point-wise backward gained a row-sum term at " << i;
  }
}

class LossGradient : public ::testing::TestWithParam<std::string> {};

TEST_P(LossGradient, MatchesFiniteDifferences) {
  const LossKind kind = loss_from_name(GetParam());
  const int64_t batch = 3, classes = 5;
  std::vector<float> logits(batch * classes), d(batch * classes);
  std::vector<int32_t> labels = {0, 3, 4};
  fill_normal(logits.data(), logits.size(), 2.0, 31);
  auto loss = [&] {
    return classification_loss(kind, logits.data(), labels.data(), batch, classes, 0.1, nullptr)
        .loss;
  };
  classification_loss(kind, logits.data(), labels.data(), batch, classes, 0.1, d.data());
  expect_gradient_matches("dlogits", logits.data(), d.data(), d.size(), loss, 100, 32);
}

INSTANTIATE_TEST_SUITE_P(BothLosses, LossGradient,
                         ::testing::Values("softmax_xent", "sigmoid_xent"));

TEST(Loss, SoftmaxCrossEntropyOfUniformLogitsIsLogClasses) {
  std::vector<float> logits(2 * 10, 0.0f);
  std::vector<int32_t> labels = {3, 7};
  const LossResult r = classification_loss(LossKind::softmax_xent, logits.data(), labels.data(), 2,
                                           10, 0.0, nullptr);
  EXPECT_NEAR(r.loss, std::log(10.0), 1e-12);
}

// The attention layer alone: d(xn) and every attention parameter.
// Both attention kernels (attn_kernel): the fused tiles and the oneDNN matmul path.
const std::vector<std::string> kAttentionKernels = {"fused", "matmul"};

struct AttentionCase {
  std::string attn;
  bool qk_norm;
  std::string gate;
  std::string kernel;
};

std::string case_name(const ::testing::TestParamInfo<AttentionCase>& info) {
  return info.param.attn + (info.param.qk_norm ? "_qknorm" : "") +
         (info.param.gate != "none" ? "_gate_" + info.param.gate : "") + "_" + info.param.kernel;
}

std::vector<AttentionCase> attention_cases() {
  std::vector<AttentionCase> cases;
  const std::vector<std::string> gates = {"silu", "sigmoid", "gelu", "identity"};
  for (const auto& kernel : kAttentionKernels) {
    for (size_t i = 0; i < kAttentionFunctions.size(); ++i) {
      const std::string& attn = kAttentionFunctions[i];
      cases.push_back({attn, false, "none", kernel});
      cases.push_back({attn, true, "none", kernel});
      cases.push_back({attn, false, gates[i % gates.size()], kernel});
      cases.push_back({attn, true, gates[(i + 1) % gates.size()], kernel});
    }
  }
  return cases;
}

class AttentionLayerGradient : public ::testing::TestWithParam<AttentionCase> {};

TEST_P(AttentionLayerGradient, MatchesFiniteDifferences) {
  const AttentionCase& c = GetParam();
  const TrialConfig config = testing::tiny_config({{"attn", c.attn},
                                                   {"alpha", 0.7},
                                                   {"qk_norm", c.qk_norm},
                                                   {"gate", c.gate},
                                                   {"pool", "cls"},
                                                   {"attn_kernel", c.kernel}});
  testing::AttentionLayerFixture layer(config, /*batch=*/2, 41);
  const ModelShape& shape = layer.shape;
  const int64_t batch = layer.batch, n = layer.size();
  std::vector<float> xn(n), out(n), r(n), d_xn(n);
  fill_normal(xn.data(), n, 1.0, 42);
  fill_normal(r.data(), n, 1.0, 43);
  auto loss = [&] {
    std::fill(out.begin(), out.end(), 0.0f);
    attention_forward(layer.mm, shape, layer.params, xn.data(), layer.acts, out.data(), batch);
    return probe_loss(out.data(), r.data(), n);
  };
  loss();
  attention_backward(layer.mm, shape, layer.params, layer.param_grads, xn.data(), layer.acts,
                     r.data(), d_xn.data(), layer.scratch, batch);
  const int64_t score_count = batch * shape.heads * shape.tokens * shape.tokens;
  auto kinks = [&] {
    const std::vector<float> scores = attention_scores(shape, layer.acts, batch);
    return testing::kink_pattern(c.attn, scores.data(), score_count);
  };
  // Softmax's key bias (and k-norm bias) gradients are exactly zero (softmax is invariant to a
  // shift of a row), so their tensors are judged against the layer's typical gradient size.
  double squares = 0;
  for (float v : d_xn) squares += static_cast<double>(v) * v;
  const testing::FdTolerance tolerance{.scale = std::sqrt(squares / n)};
  expect_gradient_matches("d_xn", xn.data(), d_xn.data(), n, loss, 8, 44, tolerance, kinks);
  for (const auto& t : layer.layout.tensors()) {
    if (!t.name.starts_with("blocks.0.attn.")) continue;
    expect_gradient_matches(t.name, layer.values.data() + t.offset, layer.grads.data() + t.offset,
                            t.size, loss, 5, 45, tolerance, kinks);
  }
}

INSTANTIATE_TEST_SUITE_P(EveryVariant, AttentionLayerGradient,
                         ::testing::ValuesIn(attention_cases()), case_name);

// The whole model, through the real loss: every parameter tensor.
struct ModelCase {
  std::string name;
  OrderedJson overrides;
};

std::vector<ModelCase> model_cases() {
  std::vector<ModelCase> cases;
  for (const auto& kernel : kAttentionKernels) {
    for (const auto& attn : kAttentionFunctions) {
      cases.push_back(
          {attn + "_gap_" + kernel, {{"attn", attn}, {"alpha", 1.0}, {"attn_kernel", kernel}}});
      cases.push_back({attn + "_cls_qknorm_gate_" + kernel,
                       {{"attn", attn},
                        {"alpha", 0.5},
                        {"pool", "cls"},
                        {"qk_norm", true},
                        {"gate", "silu"},
                        {"attn_kernel", kernel}}});
    }
    cases.push_back({"softmax_sincos_sigmoid_xent_" + kernel,
                     {{"attn", "softmax"},
                      {"posemb", "sincos2d"},
                      {"loss", "sigmoid_xent"},
                      {"label_smoothing", 0.1},
                      {"attn_kernel", kernel}}});
    cases.push_back(
        {"relu_sincos_cls_" + kernel,
         {{"attn", "relu"}, {"posemb", "sincos2d"}, {"pool", "cls"}, {"attn_kernel", kernel}}});
  }
  // No attention branch: qk_norm and gate have nothing to act on.
  cases.push_back(
      {"none_gap_qknorm_gate", {{"attn", "none"}, {"qk_norm", true}, {"gate", "silu"}}});
  cases.push_back({"none_sincos_sigmoid_xent",
                   {{"attn", "none"}, {"posemb", "sincos2d"}, {"loss", "sigmoid_xent"}}});
  return cases;
}

class ModelGradient : public ::testing::TestWithParam<ModelCase> {};

TEST_P(ModelGradient, EveryParameterMatchesFiniteDifferences) {
  const TrialConfig config = testing::tiny_config(GetParam().overrides);
  const ModelShape shape = ModelShape::from_config(config);
  MatmulRunner mm;
  VisionTransformer model(shape, mm);
  testing::randomize_parameters(model.layout(), model.parameters().data(), 51);
  const int64_t batch = 3;
  std::vector<float> images(batch * shape.channels * shape.image_height * shape.image_width);
  fill_normal(images.data(), images.size(), 1.0, 52);
  std::vector<int32_t> labels = {1, 4, 0};
  std::vector<float> d_logits(batch * shape.classes);
  const LossKind kind = loss_from_name(config.loss);
  auto loss = [&] {
    const float* logits = model.forward(images.data(), batch);
    return classification_loss(kind, logits, labels.data(), batch, shape.classes,
                               config.label_smoothing, nullptr)
        .loss;
  };
  const float* logits = model.forward(images.data(), batch);
  classification_loss(kind, logits, labels.data(), batch, shape.classes, config.label_smoothing,
                      d_logits.data());
  model.backward(d_logits.data());
  const int64_t score_count = batch * shape.heads * shape.tokens * shape.tokens;
  auto kinks = [&] {
    std::vector<bool> pattern;
    for (int64_t b = 0; shape.attention_branch && b < shape.depth; ++b) {
      const std::vector<float> scores = model.attention_scores(b);
      const auto block = testing::kink_pattern(config.attn, scores.data(), score_count);
      pattern.insert(pattern.end(), block.begin(), block.end());
    }
    return pattern;
  };
  // Softmax's k-norm bias gradient is exactly zero (row-shift invariance): judge every tensor
  // against the model's typical gradient size.
  const double rms = std::sqrt(sum_of_squares(model.gradients().data(), model.layout().total()) /
                               static_cast<double>(model.parameter_count()));
  for (const auto& t : model.layout().tensors()) {
    expect_gradient_matches(t.name, model.parameters().data() + t.offset,
                            model.gradients().data() + t.offset, t.size, loss, 3, 53,
                            {.scale = rms}, kinks);
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, ModelGradient, ::testing::ValuesIn(model_cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace vitsweep::engine
