// The engine's one rule for backward functions (as llm.c): every *_backward adds into its
// gradient outputs, so residual fan-in and shared inputs need no special case; the model zeroes
// its gradients once per step. Each check runs a backward into zeroed outputs, then into outputs
// that already hold other values, and expects the second to be the first plus those values.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/attention.hpp"
#include "engine/attention_weights.hpp"
#include "engine/layernorm.hpp"
#include "engine/linear.hpp"
#include "engine/mlp.hpp"
#include "engine/vit.hpp"
#include "gradient_check.hpp"
#include "model_fixture.hpp"

namespace vitsweep::engine {
namespace {

using testing::fill_normal;

// A gradient output: where a backward writes, and the values it held before.
struct Output {
  std::string name;
  float* data;
  int64_t size;
};

// Runs `backward` into zeroed outputs, then into outputs holding N(0, 1) values, and checks that
// the second result is the first plus those values (up to float rounding of the sums).
template <typename Backward>
void expect_backward_adds(const std::vector<Output>& outputs, Backward&& backward) {
  std::vector<std::vector<float>> fresh, before;
  for (const Output& o : outputs) std::fill(o.data, o.data + o.size, 0.0f);
  backward();
  for (const Output& o : outputs) fresh.emplace_back(o.data, o.data + o.size);
  uint64_t seed = 1000;
  for (const Output& o : outputs) {
    fill_normal(o.data, o.size, 1.0, ++seed);
    before.emplace_back(o.data, o.data + o.size);
  }
  backward();
  for (size_t k = 0; k < outputs.size(); ++k) {
    const Output& o = outputs[k];
    double scale = 1.0;
    for (float x : fresh[k]) scale = std::max(scale, static_cast<double>(std::abs(x)));
    int reported = 0;
    for (int64_t i = 0; i < o.size && reported < 3; ++i) {
      const double want = static_cast<double>(before[k][i]) + fresh[k][i];
      if (!(std::abs(o.data[i] - want) <= 1e-5 * scale)) {
        ++reported;
        ADD_FAILURE() << o.name << "[" << i << "]: " << o.data[i]
                      << " after the backward, expected " << before[k][i] << " (held before) + "
                      << fresh[k][i] << " (its gradient)";
      }
    }
  }
}

TEST(BackwardAdds, Linear) {
  MatmulRunner mm;
  const int64_t rows = 6, in = 5, out = 7;
  std::vector<float> dy(rows * out), x(rows * in), w(out * in);
  std::vector<float> dx(rows * in), dw(out * in), db(out);
  fill_normal(dy.data(), dy.size(), 1.0, 1);
  fill_normal(x.data(), x.size(), 1.0, 2);
  fill_normal(w.data(), w.size(), 1.0, 3);
  expect_backward_adds(
      {{"dx", dx.data(), rows * in}, {"dweight", dw.data(), out * in}, {"dbias", db.data(), out}},
      [&] {
        linear_backward(mm, dy.data(), x.data(), w.data(), dx.data(), dw.data(), db.data(), rows,
                        in, out);
      });
}

TEST(BackwardAdds, LayerNorm) {
  const int64_t rows = 70, cols = 12;  // more rows than one reduction chunk (64)
  std::vector<float> x(rows * cols), w(cols), b(cols), y(rows * cols), dy(rows * cols);
  std::vector<float> mean(rows), rstd(rows), dx(rows * cols), dw(cols), db(cols);
  fill_normal(x.data(), x.size(), 1.0, 1);
  fill_normal(w.data(), w.size(), 1.0, 2);
  fill_normal(b.data(), b.size(), 1.0, 3);
  fill_normal(dy.data(), dy.size(), 1.0, 4);
  layernorm_forward(x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(), rows, cols);
  expect_backward_adds(
      {{"dx", dx.data(), rows * cols}, {"dweight", dw.data(), cols}, {"dbias", db.data(), cols}},
      [&] {
        layernorm_backward(dy.data(), x.data(), w.data(), mean.data(), rstd.data(), dx.data(),
                           dw.data(), db.data(), rows, cols);
      });
}

TEST(BackwardAdds, AttentionWeights) {
  const int64_t rows = 4, cols = 9;
  std::vector<float> s(rows * cols), a(rows * cols), da(rows * cols), ds(rows * cols);
  fill_normal(s.data(), s.size(), 1.5, 1);
  fill_normal(da.data(), da.size(), 1.0, 2);
  for (const char* name : {"softmax", "relu2"}) {
    SCOPED_TRACE(name);
    const AttentionFunction fn = AttentionFunction::from_name(name);
    attention_weights_forward(fn, s.data(), a.data(), rows, cols);
    expect_backward_adds({{"dscores", ds.data(), rows * cols}}, [&] {
      attention_weights_backward(fn, s.data(), a.data(), da.data(), ds.data(), rows, cols);
    });
  }
}

class BackwardAddsAttention : public ::testing::TestWithParam<std::string> {};

TEST_P(BackwardAddsAttention, Core) {
  for (const char* attn : {"softmax", "relu"}) {
    SCOPED_TRACE(attn);
    const TrialConfig config =
        testing::tiny_config({{"attn", attn}, {"pool", "cls"}, {"attn_kernel", GetParam()}});
    testing::AttentionLayerFixture layer(config, /*batch=*/2, 7);
    const int64_t n = layer.size();
    AttentionActivations& acts = layer.acts;
    fill_normal(acts.q, n, 1.0, 1);
    fill_normal(acts.k, n, 1.0, 2);
    fill_normal(acts.v, n, 1.0, 3);
    std::vector<float> d_out(n), dq(n), dk(n), dv(n);
    fill_normal(d_out.data(), n, 1.0, 4);
    attention_core_forward(layer.mm, layer.shape, acts.q, acts.k, acts, layer.batch);
    expect_backward_adds({{"dq", dq.data(), n}, {"dk", dk.data(), n}, {"dv", dv.data(), n}}, [&] {
      attention_core_backward(layer.mm, layer.shape, acts.q, acts.k, acts, d_out.data(), dq.data(),
                              dk.data(), dv.data(), layer.scratch, layer.batch);
    });
  }
}

TEST_P(BackwardAddsAttention, Layer) {
  const TrialConfig config = testing::tiny_config(
      {{"attn", "relu"}, {"qk_norm", true}, {"gate", "silu"}, {"attn_kernel", GetParam()}});
  testing::AttentionLayerFixture layer(config, /*batch=*/2, 7);
  const int64_t n = layer.size();
  std::vector<float> xn(n), out(n), d_out(n), d_xn(n);
  fill_normal(xn.data(), n, 1.0, 1);
  fill_normal(d_out.data(), n, 1.0, 2);
  attention_forward(layer.mm, layer.shape, layer.params, xn.data(), layer.acts, out.data(),
                    layer.batch);
  std::vector<Output> outputs = {{"d_xn", d_xn.data(), n}};
  for (const TensorInfo& t : layer.layout.tensors()) {
    if (t.name.starts_with("blocks.0.attn.")) {
      outputs.push_back({t.name, layer.grads.data() + t.offset, t.size});
    }
  }
  expect_backward_adds(outputs, [&] {
    attention_backward(layer.mm, layer.shape, layer.params, layer.param_grads, xn.data(),
                       layer.acts, d_out.data(), d_xn.data(), layer.scratch, layer.batch);
  });
}

INSTANTIATE_TEST_SUITE_P(BothKernels, BackwardAddsAttention, ::testing::Values("fused", "matmul"));

TEST(BackwardAdds, Mlp) {
  testing::AttentionLayerFixture layer(testing::tiny_config(), /*batch=*/2, 7);
  const ModelShape& s = layer.shape;
  const int64_t rows = layer.batch * s.tokens, n = layer.size(), hidden = rows * s.mlp_dim;
  std::vector<float> xn(n), out(n), d_out(n), d_xn(n), gelu_derivative(hidden), act(hidden),
      d_hidden(hidden);
  fill_normal(xn.data(), n, 1.0, 1);
  fill_normal(d_out.data(), n, 1.0, 2);
  MlpActivations acts{gelu_derivative.data(), act.data()};
  mlp_forward(layer.mm, s, layer.params, xn.data(), acts, out.data(), rows);
  std::vector<Output> outputs = {{"d_xn", d_xn.data(), n}};
  for (const TensorInfo& t : layer.layout.tensors()) {
    if (t.name.starts_with("blocks.0.mlp.")) {
      outputs.push_back({t.name, layer.grads.data() + t.offset, t.size});
    }
  }
  expect_backward_adds(outputs, [&] {
    mlp_backward(layer.mm, s, layer.params, layer.param_grads, xn.data(), acts, d_out.data(),
                 d_xn.data(), d_hidden.data(), rows);
  });
}

// The model is where a step starts: its backward zeroes the gradients once, so a second backward
// of the same batch gives the same gradients, not twice them.
TEST(ModelBackward, ZeroesTheGradientsOncePerStep) {
  MatmulRunner mm;
  VisionTransformer model(
      ModelShape::from_config(testing::tiny_config({{"pool", "cls"}, {"qk_norm", true}})), mm);
  testing::randomize_parameters(model.layout(), model.parameters().data(), 3);
  const ModelShape& s = model.shape();
  // Any d_logits will do: the backward does not look at where it came from.
  std::vector<float> images(2 * s.channels * s.image_height * s.image_width),
      d_logits(2 * s.classes);
  fill_normal(images.data(), images.size(), 1.0, 4);
  fill_normal(d_logits.data(), d_logits.size(), 1.0, 5);
  model.forward(images.data(), 2);
  model.backward(d_logits.data());
  const FloatBuffer& grads = model.gradients();
  const std::vector<float> first(grads.data(), grads.data() + grads.size());
  model.backward(d_logits.data());
  EXPECT_EQ(std::vector<float>(grads.data(), grads.data() + grads.size()), first);
}

}  // namespace
}  // namespace vitsweep::engine
