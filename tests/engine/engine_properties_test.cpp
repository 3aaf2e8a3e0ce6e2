// Properties of the engine as a whole: every GEMM runs on an optimised oneDNN implementation
// (never the slow `ref` path), primitives are built once per shape, and training is
// bit-identical for the same seed and thread count.
#include <gtest/gtest.h>
#include <omp.h>
#include <tbb/global_control.h>

#include "common/random.hpp"
#include "data/dataset.hpp"
#include "engine/loss.hpp"
#include "engine/trainer.hpp"
#include "engine/vit.hpp"

namespace vitsweep::engine {
namespace {

void train_step(VisionTransformer& model, int64_t batch, uint64_t seed) {
  const ModelShape& s = model.shape();
  std::vector<float> images(static_cast<size_t>(batch * s.channels * s.image_height * s.image_width));
  Random random(seed);
  for (float& x : images) x = static_cast<float>(random.normal());
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  for (auto& l : labels) l = static_cast<int32_t>(random.below(s.classes));
  std::vector<float> d_logits(static_cast<size_t>(batch * s.classes));
  const float* logits = model.forward(images.data(), batch);
  classification_loss(LossKind::softmax_xent, logits, labels.data(), batch, s.classes, 0, d_logits.data());
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
       {{"model", "micro/2"}, {"attn", "relu"}, {"qk_norm", true}, {"gate", "silu"}, {"pool", "cls"}},
       16},
      {"S/16 at 224, relu2",
       {{"dataset", "synthetic"}, {"synthetic_size", 224}, {"synthetic_channels", 3},
        {"synthetic_classes", 1000}, {"model", "S/16"}, {"depth", 1}, {"attn", "relu2"}},
       4},
  };
  for (const auto& c : cases) {
    const ModelShape shape = ModelShape::from_config(parse_trial_config(c.settings, c.name));
    MatmulRunner mm;
    VisionTransformer model(shape, mm);
    model.initialize(1);
    train_step(model, c.batch, 1);
    const size_t primitives = mm.primitives_created();
    train_step(model, c.batch, 2);
    EXPECT_EQ(mm.primitives_created(), primitives) << c.name << ": a second step built new primitives";
    EXPECT_GT(primitives, 5u);
    for (const auto& [shape_text, implementation] : mm.implementations()) {
      EXPECT_EQ(implementation.find("ref"), std::string::npos)
          << c.name << ": " << shape_text << " runs on " << implementation;
    }
  }
}

std::vector<double> loss_curve(int threads) {
  omp_set_num_threads(threads);
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<size_t>(threads));
  const TrialConfig config = parse_trial_config(
      {{"dataset", "synthetic"}, {"synthetic_size", 16}, {"synthetic_train", 512},
       {"synthetic_test", 128}, {"model", "micro/4"}, {"epochs", 2}, {"batch_size", 32},
       {"attn", "relu"}, {"augment", "crop+flip"}, {"seed", 5}},
      "test");
  const data::Dataset dataset = data::load_dataset(config);
  Trainer trainer(config, dataset);
  std::vector<double> curve;
  TrainerCallbacks callbacks;
  callbacks.on_step = [&](const StepProgress& p) { curve.push_back(p.batch_loss); };
  const TrialOutcome outcome = trainer.run(callbacks);
  curve.push_back(outcome.final_test.loss);
  omp_set_num_threads(1);
  return curve;
}

TEST(Engine, SameSeedAndThreadsGiveBitIdenticalLossCurves) {
  for (int threads : {1, 2}) {
    const std::vector<double> first = loss_curve(threads);
    const std::vector<double> second = loss_curve(threads);
    ASSERT_EQ(first.size(), 33u);
    for (size_t i = 0; i < first.size(); ++i) {
      EXPECT_EQ(first[i], second[i]) << threads << " threads, step " << i;
    }
  }
}

}  // namespace
}  // namespace vitsweep::engine
