// Properties of the engine as a whole: every GEMM runs on an optimised oneDNN implementation
// (never the slow `ref` path) in f32 and bf16, primitives are built once per shape, training is
// bit-identical for the same seed and thread count (really run on two threads), the engine's own
// kernels give the same bits on any number of threads, and bf16 matmuls round their operands and
// nothing else.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "common/error.hpp"
#include "common/random.hpp"
#include "data/dataset.hpp"
#include "engine/elementwise.hpp"
#include "engine/loss.hpp"
#include "engine/trainer.hpp"
#include "engine/vit.hpp"
#include "support/threads.hpp"

namespace vitsweep::engine {
namespace {

void train_step(VisionTransformer& model, int64_t batch, uint64_t seed) {
  const ModelShape& s = model.shape();
  std::vector<float> images(
      static_cast<size_t>(batch * s.channels * s.image_height * s.image_width));
  Random random(seed);
  for (float& x : images) x = static_cast<float>(random.normal());
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  for (auto& l : labels) l = static_cast<int32_t>(random.below(s.classes));
  std::vector<float> d_logits(static_cast<size_t>(batch * s.classes));
  const float* logits = model.forward(images.data(), batch);
  classification_loss(LossKind::softmax_xent, logits, labels.data(), batch, s.classes, 0,
                      d_logits.data());
  model.backward(d_logits.data());
}

struct ShapeCase {
  std::string name;
  OrderedJson settings;
  int64_t batch;
};

TEST(Engine, NoGemmRunsOnAReferenceImplementation) {
  const std::vector<ShapeCase> cases = {
      {"fmnist mini/4 softmax", {{"model", "mini/4"}, {"attn", "softmax"}}, 128},
      {"fmnist micro/2 relu, qk-norm, gate, cls",
       {{"model", "micro/2"},
        {"attn", "relu"},
        {"qk_norm", true},
        {"gate", "silu"},
        {"pool", "cls"}},
       16},
      {"S/16 at 224, relu2",
       {{"dataset", "synthetic"},
        {"synthetic_size", 224},
        {"synthetic_channels", 3},
        {"synthetic_classes", 1000},
        {"model", "S/16"},
        {"depth", 1},
        {"attn", "relu2"}},
       4},
  };
  for (const Precision precision : {Precision::f32, Precision::bf16}) {
    if (precision == Precision::bf16 && !bf16_matmul_available()) continue;
    for (const auto& c : cases) {
      const ModelShape shape = ModelShape::from_config(parse_trial_config(c.settings, c.name));
      MatmulRunner mm(precision);
      VisionTransformer model(shape, mm);
      model.initialize(1);
      train_step(model, c.batch, 1);
      const size_t primitives = mm.primitives_created();
      train_step(model, c.batch, 2);
      EXPECT_EQ(mm.primitives_created(), primitives)
          << c.name << ": a second step built new primitives";
      EXPECT_GT(primitives, 5u);
      for (const auto& [shape_text, implementation] : mm.implementations()) {
        EXPECT_EQ(implementation.find("ref"), std::string::npos)
            << c.name << ": " << shape_text << " runs on " << implementation;
      }
    }
  }
}

// bf16 round-to-nearest-even, as oneDNN's reorder does it (finite inputs).
float round_to_bf16(float x) {
  uint32_t bits = std::bit_cast<uint32_t>(x);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return std::bit_cast<float>(bits & 0xFFFF0000u);
}

TEST(Engine, Bf16MatmulRoundsTheOperandsAndAccumulatesInF32) {
  if (!bf16_matmul_available()) GTEST_SKIP() << "oneDNN has no bf16 matmul on this CPU";
  // C = A B^T with B read through a transposed view, plus a bias, as the linear layers run it.
  const int64_t m = 37, k = 96, n = 53;
  std::vector<float> a(m * k), b(n * k), bias(n), c(m * n);
  Random random(3);
  for (float& x : a) x = static_cast<float>(random.normal());
  for (float& x : b) x = static_cast<float>(random.normal());
  for (float& x : bias) x = static_cast<float>(random.normal());
  MatmulRunner mm(Precision::bf16);
  mm.run(matrix(c.data(), m, n), matrix(a.data(), m, k), matrix(b.data(), n, k).t(),
         {.bias = bias.data()});
  double worst_vs_rounded = 0, worst_vs_exact = 0;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double rounded = bias[j], exact = bias[j];
      for (int64_t t = 0; t < k; ++t) {
        rounded += static_cast<double>(round_to_bf16(a[i * k + t])) * round_to_bf16(b[j * k + t]);
        exact += static_cast<double>(a[i * k + t]) * b[j * k + t];
      }
      worst_vs_rounded = std::max(worst_vs_rounded, std::abs(c[i * n + j] - rounded));
      worst_vs_exact = std::max(worst_vs_exact, std::abs(c[i * n + j] - exact));
    }
  }
  // f32 sums of ~10-sized terms over k = 96: errors of ~1e-5; bf16 operands move results ~1e-2.
  EXPECT_LT(worst_vs_rounded, 1e-4);
  EXPECT_GT(worst_vs_exact, 1e-3);
  for (const auto& [shape_text, implementation] : mm.implementations()) {
    EXPECT_NE(shape_text.find("bf16"), std::string::npos) << shape_text;
  }
  EXPECT_THROW(precision_from_name("fp16"), Error);
}

// The MLP's hidden gradient times GELU' and fc1's bias gradient in one pass: the same bits as the
// product and then the column sums apart, added to what the bias gradient already holds, for row
// counts across the reduction's chunks and widths that leave part vectors.
TEST(Engine, MultiplyingThenSummingColumnsGivesTheSameBitsAsTheTwoApart) {
  for (const auto& [rows, cols] : {std::pair<int64_t, int64_t>{490, 256}, {37, 53}, {1, 5}}) {
    std::vector<float> x(rows * cols), by(rows * cols), fused_sums(cols), separate_sums(cols);
    Random random(6);
    for (auto* v : {&x, &by, &fused_sums}) {
      for (float& e : *v) e = static_cast<float>(random.normal());
    }
    separate_sums = fused_sums;
    std::vector<float> separate(rows * cols);
    multiply(x.data(), by.data(), separate.data(), rows * cols);
    add_column_sums(separate.data(), rows, cols, separate_sums.data());
    multiply_then_add_column_sums(x.data(), by.data(), rows, cols, fused_sums.data());
    for (int64_t i = 0; i < rows * cols; ++i) ASSERT_EQ(x[i], separate[i]) << "element " << i;
    for (int64_t c = 0; c < cols; ++c) {
      ASSERT_EQ(fused_sums[c], separate_sums[c]) << rows << "x" << cols << " column " << c;
    }
  }
}

// A column-major C (the weight gradients of layers wider out than in) is computed row-major and
// written transposed: the same bits as the row-major product of the transposed operands, scaled,
// assigned or accumulated, with a leading dimension wider than C and sizes that leave part tiles.
TEST(Engine, AColumnMajorDestinationGetsTheTransposeOfTheRowMajorProduct) {
  const int64_t m = 37, k = 29, n = 53, ld = 40;  // C [m, n] at c[i + j * ld]
  std::vector<float> a(m * k), b(k * n), row_major(n * m);
  Random random(5);
  for (auto* v : {&a, &b}) {
    for (float& x : *v) x = static_cast<float>(random.normal());
  }
  MatmulRunner mm(Precision::f32);
  // C^T [n, m] = B^T A^T, row-major.
  mm.run(matrix(row_major.data(), n, m), matrix(b.data(), k, n).t(), matrix(a.data(), m, k).t(),
         {.scale = 0.5f});
  for (const bool accumulate : {false, true}) {
    std::vector<float> c(n * ld);
    for (float& x : c) x = static_cast<float>(random.normal());
    const std::vector<float> before = c;
    const View column_major = {c.data(), 2, {m, n, 0, 0}, {1, ld, 0, 0}};
    mm.run(column_major, matrix(a.data(), m, k), matrix(b.data(), k, n),
           {.scale = 0.5f, .accumulate = accumulate});
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t i = 0; i < ld; ++i) {
        const int64_t at = i + j * ld;
        if (i >= m) {
          ASSERT_EQ(c[at], before[at]) << "padding (" << i << ", " << j << ") was written";
          continue;
        }
        const float product = row_major[j * m + i];
        ASSERT_EQ(c[at], accumulate ? before[at] + product : product)
            << "C (" << i << ", " << j << "), accumulate " << accumulate;
      }
    }
  }
  for (const auto& [shape_text, implementation] : mm.implementations()) {
    EXPECT_EQ(implementation.find("ref"), std::string::npos) << shape_text;
  }
  const std::vector<float> bias(n);
  std::vector<float> c(n * m);
  EXPECT_THROW(mm.run({c.data(), 2, {m, n, 0, 0}, {1, m, 0, 0}}, matrix(a.data(), m, k),
                      matrix(b.data(), k, n), {.bias = bias.data()}),
               Error);
}

float at(const View& v, int64_t b, int64_t h, int64_t i, int64_t j) {
  return v.data[b * v.strides[0] + h * v.strides[1] + i * v.strides[2] + j * v.strides[3]];
}

TEST(Engine, Bf16BatchedMatmulOnHeadViewsScalesAndAccumulates) {
  if (!bf16_matmul_available()) GTEST_SKIP() << "oneDNN has no bf16 matmul on this CPU";
  // S += scale * Q K^T per head, Q and K strided [B, H, N, hd] views of [B, N, H*hd] buffers.
  const int64_t batch = 2, num_heads = 3, tokens = 17, head_dim = 16;
  const int64_t size = batch * tokens * num_heads * head_dim;
  std::vector<float> q(size), k(size), s(batch * num_heads * tokens * tokens);
  Random random(4);
  for (float& x : q) x = static_cast<float>(random.normal());
  for (float& x : k) x = static_cast<float>(random.normal());
  for (float& x : s) x = static_cast<float>(random.normal());
  const std::vector<float> before = s;
  const View qv = heads(q.data(), batch, tokens, num_heads, head_dim);
  const View kv = heads(k.data(), batch, tokens, num_heads, head_dim);
  const float scale = 0.25f;
  MatmulRunner mm(Precision::bf16);
  mm.run(batched(s.data(), batch, num_heads, tokens, tokens), qv, kv.t(),
         {.scale = scale, .accumulate = true});
  double worst = 0;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < num_heads; ++h) {
      for (int64_t i = 0; i < tokens; ++i) {
        for (int64_t j = 0; j < tokens; ++j) {
          double dot = 0;
          for (int64_t t = 0; t < head_dim; ++t) {
            dot += static_cast<double>(round_to_bf16(at(qv, b, h, i, t))) *
                   round_to_bf16(at(kv, b, h, j, t));
          }
          const int64_t index = ((b * num_heads + h) * tokens + i) * tokens + j;
          worst = std::max(worst, std::abs(s[index] - (before[index] + scale * dot)));
        }
      }
    }
  }
  EXPECT_LT(worst, 1e-5);
}

// A training run's every batch loss, its final test loss, its final weights and its last step's
// gradients (Adam's first steps move every weight by about lr whatever the gradient's last bits,
// so the weights alone would hide a gradient that changed in its last bits).
struct TrainingRun {
  std::vector<double> losses;
  std::vector<float> weights, gradients;
  int tbb_threads = 0;  // distinct threads that joined the engine's TBB arena to take its tasks
};

// Eight steps of a two-block micro ViT on 16x16 images (17 tokens with the class token) at the full
// learning rate from the first step (the default warmup would leave the weights near their
// initialisation, where the zero head hides the rest of the model from the loss).
TrainingRun train(const OrderedJson& settings, int tbb_threads, int openmp_threads) {
  testing::TestThreads scope(tbb_threads, openmp_threads);
  OrderedJson all = {{"dataset", "synthetic"},
                     {"synthetic_size", 16},
                     {"synthetic_train", 256},
                     {"synthetic_test", 64},
                     {"model", "micro/4"},
                     {"depth", 2},
                     {"epochs", 1},
                     {"batch_size", 32},
                     {"augment", "crop+flip"},
                     {"warmup_steps", 0},
                     {"seed", 5}};
  for (const auto& [key, value] : settings.items()) all[key] = value;
  const TrialConfig config = parse_trial_config(all, "test");
  const data::Dataset dataset = data::load_dataset(config);
  Trainer trainer(config, dataset);
  TrainingRun run;
  TrainerCallbacks callbacks;
  callbacks.on_step = [&](const StepProgress& p) { run.losses.push_back(p.batch_loss); };
  testing::TbbThreadRecorder recorder;
  const TrialOutcome outcome = trainer.run(callbacks);
  run.tbb_threads = recorder.distinct_threads();
  run.losses.push_back(outcome.final_test.loss);
  const FloatBuffer& weights = trainer.model().parameters();
  run.weights.assign(weights.data(), weights.data() + weights.size());
  const FloatBuffer& gradients = trainer.model().gradients();
  run.gradients.assign(gradients.data(), gradients.data() + gradients.size());
  return run;
}

// A run on two TBB threads, proven: under load the second thread can miss every loop of so short
// a run (the calling thread finishes each loop before the other wakes up), and such a run proves
// nothing, so it is run again, for up to a minute.
TrainingRun train_in_parallel(const std::string& name, const OrderedJson& settings,
                              int openmp_threads) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  TrainingRun run;
  int attempts = 0;
  do {
    run = train(settings, 2, openmp_threads);
    ++attempts;
  } while (run.tbb_threads < 2 && std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(run.tbb_threads, 2) << name << ": the engine never ran on two threads";
  std::printf("  %s: %d threads took the engine's TBB tasks (OpenMP: %d), attempt %d\n",
              name.c_str(), run.tbb_threads, openmp_threads, attempts);
  return run;
}

struct TrainingCase {
  std::string name;
  OrderedJson settings;
};

// Both attention kernels, both precisions, relu and softmax, and qk-norm, the gate and the class
// token: each a kernel of its own with reductions of its own.
std::vector<TrainingCase> training_cases() {
  const bool bf16 = bf16_matmul_available();
  const std::string precision = bf16 ? "bf16" : "f32";
  return {
      {"relu, matmul kernel", {{"attn", "relu"}}},
      {"relu, fused kernel, qk-norm, silu gate, class token",
       {{"attn", "relu"},
        {"attn_kernel", "fused"},
        {"qk_norm", true},
        {"gate", "silu"},
        {"pool", "cls"}}},
      {"softmax, matmul kernel, qk-norm, class token, " + precision,
       {{"attn", "softmax"}, {"qk_norm", true}, {"pool", "cls"}, {"precision", precision}}},
      {"softmax, fused kernel, class token, " + precision,
       {{"attn", "softmax"}, {"attn_kernel", "fused"}, {"pool", "cls"}, {"precision", precision}}},
  };
}

// A comparison of bits proves little where most gradients are zero.
void expect_whole_model_learns(const TrainingRun& run, const std::string& what) {
  const auto nonzero =
      std::count_if(run.gradients.begin(), run.gradients.end(), [](float g) { return g != 0.0f; });
  EXPECT_GT(static_cast<size_t>(nonzero), run.gradients.size() * 9 / 10)
      << what << ": most of the model gets no gradient";
}

void expect_same_bits(const TrainingRun& a, const TrainingRun& b, const std::string& what) {
  ASSERT_EQ(a.losses.size(), 9u) << what;  // 8 steps and the test loss
  ASSERT_EQ(a.losses.size(), b.losses.size()) << what;
  for (size_t i = 0; i < a.losses.size(); ++i) {
    EXPECT_EQ(a.losses[i], b.losses[i]) << what << ", loss " << i;
  }
  EXPECT_TRUE(a.weights == b.weights) << what << ": the final weights differ";
  EXPECT_TRUE(a.gradients == b.gradients) << what << ": the last step's gradients differ";
}

void expect_two_threads_available() {
  testing::TestThreads two(2);
  ASSERT_EQ(testing::tbb_threads_meeting(2), 2) << "TBB does not run on two threads";
  ASSERT_EQ(testing::openmp_team_threads(), 2) << "OpenMP does not run on two threads";
}

// The README's promise: the same config, seed and thread count give the same bits.
TEST(Engine, SameSeedAndThreadsGiveBitIdenticalLossCurvesOnOneAndTwoThreads) {
  ASSERT_NO_FATAL_FAILURE(expect_two_threads_available());
  for (const TrainingCase& c : training_cases()) {
    const TrainingRun serial = train(c.settings, 1, 1);
    const TrainingRun serial_again = train(c.settings, 1, 1);
    const TrainingRun parallel = train_in_parallel(c.name, c.settings, 2);
    const TrainingRun parallel_again = train_in_parallel(c.name, c.settings, 2);
    EXPECT_EQ(serial.tbb_threads, 1) << c.name;
    expect_whole_model_learns(serial, c.name);
    expect_same_bits(serial, serial_again, c.name + ", 1 thread twice");
    expect_same_bits(parallel, parallel_again, c.name + ", 2 threads twice");
  }
}

// The engine's own kernels (TBB) give the same bits on any number of threads (engine/parallel.hpp).
// oneDNN's matmuls (OpenMP) are held at one thread here: they may split a sum over threads, and
// do for larger shapes (mini/4 at batch 128 ends 1e-11 apart on one and two OpenMP threads).
TEST(Engine, OwnKernelsGiveTheSameBitsOnTwoThreadsAsOnOne) {
  ASSERT_NO_FATAL_FAILURE(expect_two_threads_available());
  for (const TrainingCase& c : training_cases()) {
    const TrainingRun serial = train(c.settings, 1, 1);
    const TrainingRun parallel = train_in_parallel(c.name, c.settings, 1);
    expect_whole_model_learns(serial, c.name);
    expect_same_bits(serial, parallel, c.name + ", 1 TBB thread against 2");
  }
}

// A class token that started at exactly 0 stayed 0 under every h with h(0) = 0 (relu, relu2,
// relu6, gelu, identity) and under a silu gate: its query is 0, so is its attention output, its
// MLP output and the pooled features; the zero head kernel then gets no gradient and nothing
// behind it does either. It starts at N(0, 1e-6) now (as timm), which LayerNorm scales up.
TEST(Engine, ClassTokenModelLearnsUnderEveryAttention) {
  for (const char* attn : {"relu", "relu2", "relu6", "gelu", "identity", "softplus", "sigmoid"}) {
    for (const char* gate : {"none", "silu"}) {
      const std::string name = fmt::format("{}, gate {}, class token", attn, gate);
      const TrainingRun run = train({{"attn", attn}, {"gate", gate}, {"pool", "cls"}}, 1, 1);
      expect_whole_model_learns(run, name);
    }
  }
}

// A short run that learns a lot: the synthetic classes are separable within a few epochs.
TrialOutcome short_training(const std::string& precision, std::vector<double>& curve) {
  const TrialConfig config = parse_trial_config({{"dataset", "synthetic"},
                                                 {"synthetic_size", 16},
                                                 {"synthetic_train", 1024},
                                                 {"synthetic_test", 256},
                                                 {"model", "micro/4"},
                                                 {"epochs", 4},
                                                 {"batch_size", 32},
                                                 {"lr", 0.003},
                                                 {"warmup_steps", 10},
                                                 {"attn", "relu"},
                                                 {"seed", 5},
                                                 {"precision", precision}},
                                                "test");
  const data::Dataset dataset = data::load_dataset(config);
  Trainer trainer(config, dataset);
  TrainerCallbacks callbacks;
  callbacks.on_step = [&](const StepProgress& p) { curve.push_back(p.batch_loss); };
  return trainer.run(callbacks);
}

TEST(Engine, Bf16TrainingLearnsLikeF32) {
  if (!bf16_matmul_available()) GTEST_SKIP() << "oneDNN has no bf16 matmul on this CPU";
  std::vector<double> f32_curve, bf16_curve;
  const TrialOutcome f32 = short_training("f32", f32_curve);
  const TrialOutcome bf16 = short_training("bf16", bf16_curve);
  ASSERT_EQ(f32_curve.size(), bf16_curve.size());
  EXPECT_NE(f32_curve, bf16_curve);                        // the operands really were rounded
  auto late_mean = [](const std::vector<double>& curve) {  // the last 16 steps' batch losses
    double sum = 0;
    for (size_t i = curve.size() - 16; i < curve.size(); ++i) sum += curve[i];
    return sum / 16;
  };
  // Both learn from ln 10 = 2.30 to ~1.85 and end within a few hundredths of each other; test
  // accuracy is ~2.8x chance for both (measured 29.3% f32, 27.3% bf16 on 256 test images).
  EXPECT_LT(late_mean(f32_curve), 2.0);
  EXPECT_LT(late_mean(bf16_curve), 2.0);
  EXPECT_NEAR(late_mean(bf16_curve), late_mean(f32_curve), 0.1);
  EXPECT_GT(bf16.final_test.accuracy, 0.2);
  EXPECT_NEAR(bf16.final_test.accuracy, f32.final_test.accuracy, 0.06);
}

}  // namespace
}  // namespace vitsweep::engine

namespace vitsweep::engine {
namespace {

TEST(Engine, ScaleLengthFixesTheLOfLengthScaling) {
  // micro/4: 49 keys. scale_length 0 is the number of keys; 16 makes alpha = 1 the constant
  // 1/16 whatever the patch size; softmax is never scaled.
  auto scale = [](const OrderedJson& settings) {
    return ModelShape::from_config(parse_trial_config(settings, "test")).length_scale();
  };
  const OrderedJson relu = {{"model", "micro/4"}, {"attn", "relu"}, {"alpha", 1.0}};
  EXPECT_FLOAT_EQ(scale(relu), 1.0f / 49);
  OrderedJson fixed = relu;
  fixed["scale_length"] = 16;
  EXPECT_FLOAT_EQ(scale(fixed), 1.0f / 16);
  fixed["model"] = "micro/2";  // 196 keys, still 1/16
  EXPECT_FLOAT_EQ(scale(fixed), 1.0f / 16);
  fixed["alpha"] = 0.5;
  EXPECT_FLOAT_EQ(scale(fixed), 0.25f);
  fixed["attn"] = "softmax";
  EXPECT_FLOAT_EQ(scale(fixed), 1.0f);

  // The forward pass uses it: scale_length 16 at alpha 1 gives the logits of the real length
  // (49) at the alpha with 49^-alpha = 1/16.
  OrderedJson a = relu, b = relu;
  a["scale_length"] = 16;
  b["alpha"] = std::log(16.0) / std::log(49.0);
  MatmulRunner mm(Precision::f32);
  VisionTransformer model_a(ModelShape::from_config(parse_trial_config(a, "a")), mm);
  VisionTransformer model_b(ModelShape::from_config(parse_trial_config(b, "b")), mm);
  model_a.initialize(3);
  model_b.initialize(3);
  const ModelShape& s = model_a.shape();
  std::vector<float> images(static_cast<size_t>(4 * s.channels * s.image_height * s.image_width));
  Random random(5);
  for (float& x : images) x = static_cast<float>(random.normal());
  // The head is zero-initialised: perturb every weight so that logits depend on the attention.
  for (VisionTransformer* m : {&model_a, &model_b}) {
    Random r(7);
    FloatBuffer& p = m->parameters();
    for (int64_t i = 0; i < p.size(); ++i) p[i] += static_cast<float>(0.05 * r.normal());
  }
  const float* out_a = model_a.forward(images.data(), 4);
  const std::vector<float> logits_a(out_a, out_a + 4 * s.classes);
  const float* logits_b = model_b.forward(images.data(), 4);
  float differ_from_zero = 0;
  for (int64_t i = 0; i < 4 * s.classes; ++i) {
    EXPECT_NEAR(logits_a[i], logits_b[i], 1e-5f) << i;
    differ_from_zero = std::max(differ_from_zero, std::fabs(logits_a[i]));
  }
  EXPECT_GT(differ_from_zero, 1e-3f);
}

}  // namespace
}  // namespace vitsweep::engine
