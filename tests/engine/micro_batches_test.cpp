// A training batch run as micro-batches gives the gradient of the whole batch's mean loss: the
// same as one pass up to float rounding, bit for bit when the micro-batch is the whole batch; a
// non-finite loss ends the batch; and the micro-batch size follows its fixed budget.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common/random.hpp"
#include "engine/loss.hpp"
#include "engine/matmul.hpp"
#include "engine/micro_batches.hpp"
#include "engine/vit.hpp"
#include "gradient_check.hpp"
#include "model_fixture.hpp"

namespace vitsweep::engine {
namespace {

using testing::fill_normal;

// A tiny model with random weights and a batch of random images and labels.
struct BatchFixture {
  explicit BatchFixture(const TrialConfig& config, int64_t batch_images)
      : shape(ModelShape::from_config(config)), model(shape, mm), batch(batch_images) {
    testing::randomize_parameters(model.layout(), model.parameters().data(), 11);
    images.resize(
        static_cast<size_t>(batch * shape.channels * shape.image_height * shape.image_width));
    fill_normal(images.data(), static_cast<int64_t>(images.size()), 1.0, 12);
    Random random(13);
    for (int64_t i = 0; i < batch; ++i) {
      labels.push_back(static_cast<int32_t>(random.below(shape.classes)));
    }
    d_logits.resize(static_cast<size_t>(batch * shape.classes));
  }
  LossResult train(int64_t micro) {
    return train_on_batch(model, LossKind::softmax_xent, 0.1, images.data(), labels.data(), batch,
                          micro, d_logits.data());
  }
  std::vector<float> gradients() const {
    return {model.gradients().data(), model.gradients().data() + model.gradients().size()};
  }

  ModelShape shape;
  MatmulRunner mm;
  VisionTransformer model;
  int64_t batch;
  std::vector<float> images, d_logits;
  std::vector<int32_t> labels;
};

class MicroBatches : public ::testing::TestWithParam<std::string> {};

TEST_P(MicroBatches, GiveTheGradientsOfOnePassOverTheBatch) {
  const OrderedJson variants[] = {
      {{"pool", "gap"}},
      {{"pool", "cls"}},
      {{"qk_norm", true}, {"gate", "silu"}},
      {{"attn_kernel", "matmul"}},
  };
  for (OrderedJson settings : variants) {
    SCOPED_TRACE(settings.dump());
    settings["attn"] = GetParam();
    settings["alpha"] = 1.0;
    BatchFixture f(testing::tiny_config(settings), 10);
    const LossResult whole = f.train(10);
    const std::vector<float> one_pass = f.gradients();
    // 3 + 3 + 3 + 1 images: a last micro-batch smaller than the others.
    const LossResult parts = f.train(3);
    const std::vector<float> micro = f.gradients();
    EXPECT_EQ(parts.correct, whole.correct);
    EXPECT_NEAR(parts.loss, whole.loss, 1e-6 * std::abs(whole.loss));
    double scale = 0;
    for (float g : one_pass) scale = std::max(scale, static_cast<double>(std::abs(g)));
    ASSERT_GT(scale, 0);
    int reported = 0;
    for (size_t i = 0; i < one_pass.size() && reported < 3; ++i) {
      if (!(std::abs(micro[i] - one_pass[i]) <= 1e-5 * scale)) {
        ++reported;
        ADD_FAILURE() << "gradient " << i << ": " << micro[i] << " in micro-batches, "
                      << one_pass[i] << " in one pass";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(SoftmaxAndPointwise, MicroBatches, ::testing::Values("softmax", "relu"));

TEST(MicroBatches, OneMicroBatchOfTheWholeBatchIsThePlainStepBitForBit) {
  BatchFixture f(testing::tiny_config({{"attn", "relu"}}), 6);
  const LossResult r = f.train(6);
  const std::vector<float> through_micro = f.gradients();
  const float* logits = f.model.forward(f.images.data(), f.batch);
  const LossResult plain = classification_loss(LossKind::softmax_xent, logits, f.labels.data(),
                                               f.batch, f.shape.classes, 0.1, f.d_logits.data());
  f.model.backward(f.d_logits.data());
  EXPECT_EQ(r.loss, plain.loss);
  EXPECT_EQ(r.correct, plain.correct);
  EXPECT_EQ(through_micro, f.gradients());
}

TEST(MicroBatches, ANonFiniteLossEndsTheBatchWithThatLoss) {
  BatchFixture f(testing::tiny_config(), 6);
  // The second micro-batch's first image is NaN: its logits, and so its loss, are NaN.
  const int64_t image = f.shape.channels * f.shape.image_height * f.shape.image_width;
  f.images[static_cast<size_t>(2 * image)] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(std::isfinite(f.train(2).loss));
  EXPECT_FALSE(std::isfinite(f.train(6).loss));
}

ModelShape fashion_mnist(const std::string& model, int64_t patch) {
  return ModelShape::from_config(parse_trial_config(
      {{"dataset", "fashion-mnist"}, {"model", model}, {"patch", patch}}, "test"));
}

TEST(MicroBatchImages, KeepTheMlpActivationOfAPassWithin512KiB) {
  // nano's hidden activation is 128 floats a token; its parameters take 0.12 MiB.
  EXPECT_EQ(micro_batch_images(fashion_mnist("nano", 4), 128, 1), 20);  // 49 tokens: 24.5 KiB
  EXPECT_EQ(micro_batch_images(fashion_mnist("nano", 7), 128, 1), 64);  // 16 tokens: 8 KiB
  EXPECT_EQ(micro_batch_images(fashion_mnist("nano", 2), 128, 1), 5);   // 196 tokens: 98 KiB
}

TEST(MicroBatchImages, KeepItWithin256KiBForModelsOfMoreThan256KiBOfParameters) {
  // micro: 256 hidden floats a token, 0.8 MiB of parameters.
  EXPECT_EQ(micro_batch_images(fashion_mnist("micro", 4), 128, 1), 5);   // 49 tokens: 49 KiB
  EXPECT_EQ(micro_batch_images(fashion_mnist("micro", 7), 128, 1), 16);  // 16 tokens: 16 KiB
}

TEST(MicroBatchImages, MoreThanOneThreadPassesTheWholeBatch) {
  EXPECT_EQ(micro_batch_images(fashion_mnist("nano", 4), 128, 2), 128);
  EXPECT_EQ(micro_batch_images(fashion_mnist("micro", 4), 128, 64), 128);
}

TEST(MicroBatchImages, AreAtLeastOneImageAndAtMostTheBatch) {
  EXPECT_EQ(micro_batch_images(fashion_mnist("nano", 7), 16, 1), 16);
  EXPECT_EQ(micro_batch_images(fashion_mnist("nano", 4), 128, 0), 20);  // 0 threads counts as 1
  // 4,096 tokens of 256 hidden floats: 4 MiB an image, over the budget on its own.
  const TrialConfig huge_images =
      testing::tiny_config({{"synthetic_size", 64}, {"patch", 1}, {"mlp_dim", 256}});
  EXPECT_EQ(micro_batch_images(ModelShape::from_config(huge_images), 128, 1), 1);
}

TEST(MicroBatchImages, AModelOfMoreThan1MiBOfParametersPassesItsWholeBatch) {
  // mini/4: 1.2M parameters, 4.8 MiB; its hidden activation alone would give 2 images a pass.
  EXPECT_EQ(micro_batch_images(fashion_mnist("mini", 4), 128, 1), 128);
  EXPECT_EQ(micro_batch_images(fashion_mnist("micro", 4), 128, 1), 5);  // 0.8 MiB
}

}  // namespace
}  // namespace vitsweep::engine
