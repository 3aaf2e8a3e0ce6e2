#include "data/synthetic.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "data/dataset.hpp"
#include "support/threads.hpp"

namespace vitsweep::data {
namespace {

TrialConfig synthetic_config(int64_t seed) {
  TrialConfig config;
  config.dataset = "synthetic";
  config.synthetic_size = 12;
  config.synthetic_channels = 3;
  config.synthetic_classes = 5;
  config.synthetic_train = 300;
  config.synthetic_test = 100;
  config.seed = seed;
  return config;
}

SyntheticSpec spec_for(int64_t seed) {
  return {.size = 12,
          .channels = 3,
          .classes = 5,
          .train = 300,
          .test = 100,
          .seed = static_cast<uint64_t>(seed)};
}

TEST(Synthetic, ShapesFollowTheConfig) {
  const Dataset dataset = load_dataset(synthetic_config(1));
  EXPECT_EQ(dataset.image.channels, 3);
  EXPECT_EQ(dataset.image.height, 12);
  EXPECT_EQ(dataset.image.width, 12);
  EXPECT_EQ(dataset.image.classes, 5);
  EXPECT_EQ(dataset.train.count, 300);
  EXPECT_EQ(dataset.test.count, 100);
  EXPECT_EQ(dataset.val.count, 0);
  EXPECT_EQ(dataset.train.pixels.size(), 300u * 3 * 12 * 12);
  EXPECT_EQ(dataset.test.labels.size(), 100u);
  EXPECT_TRUE(dataset.files.empty());
  EXPECT_EQ(dataset.norm.mean.size(), 3u);
}

TEST(Synthetic, ClassesAreBalanced) {
  const RawDataset raw = make_synthetic(spec_for(0));
  std::vector<int> counts(5, 0);
  for (const int32_t label : raw.train.labels) ++counts[static_cast<size_t>(label)];
  EXPECT_THAT(counts, ::testing::Each(60));
}

TEST(Synthetic, SameConfigGivesIdenticalBytes) {
  const Dataset a = load_dataset(synthetic_config(7));
  const Dataset b = load_dataset(synthetic_config(7));
  // exact float equality, not approximate
  EXPECT_EQ(normalised_images(a.train), normalised_images(b.train));
  EXPECT_EQ(a.train.labels, b.train.labels);
  EXPECT_EQ(normalised_images(a.test), normalised_images(b.test));
  EXPECT_EQ(a.norm.mean, b.norm.mean);
}

TEST(Synthetic, IdenticalOnTwoThreadsAndOnOne) {
  const RawDataset serial = make_synthetic(spec_for(3));
  vitsweep::testing::TestThreads two(2);
  ASSERT_EQ(vitsweep::testing::tbb_threads_meeting(2), 2);
  const int threads = vitsweep::testing::run_until_parallel([&] {
    const RawDataset parallel = make_synthetic(spec_for(3));
    ASSERT_EQ(parallel.train.pixels, serial.train.pixels);
    ASSERT_EQ(parallel.train.labels, serial.train.labels);
    ASSERT_EQ(parallel.test.pixels, serial.test.pixels);
  });
  EXPECT_EQ(threads, 2);
}

TEST(Synthetic, DifferentSeedsDiffer) {
  const RawDataset a = make_synthetic(spec_for(1));
  const RawDataset b = make_synthetic(spec_for(2));
  EXPECT_NE(a.train.pixels, b.train.pixels);
  EXPECT_NE(a.test.pixels, b.test.pixels);
}

TEST(Synthetic, TrainAndTestAreDifferentImages) {
  SyntheticSpec spec = spec_for(0);
  spec.test = spec.train;
  const RawDataset raw = make_synthetic(spec);
  EXPECT_NE(raw.train.pixels, raw.test.pixels);
}

TEST(Synthetic, PixelsUseTheWholeRange) {
  const RawDataset raw = make_synthetic(spec_for(0));
  const auto [low, high] = std::minmax_element(raw.train.pixels.begin(), raw.train.pixels.end());
  EXPECT_LT(*low, 40);
  EXPECT_GT(*high, 215);
}

// Learnable: the nearest class mean of the training images already labels most test images right
// (~75%, chance 10%), so a ViT has something to find; shifts and noise keep it from being trivial.
TEST(Synthetic, NearestClassMeanBeatsChanceByFar) {
  SyntheticSpec spec = {
      .size = 16, .channels = 1, .classes = 10, .train = 1000, .test = 500, .seed = 0};
  const RawDataset raw = make_synthetic(spec);
  const size_t pixels = 16 * 16;
  std::vector<double> means(10 * pixels, 0.0);
  for (int64_t i = 0; i < raw.train.count; ++i) {
    for (size_t p = 0; p < pixels; ++p) {
      means[static_cast<size_t>(raw.train.labels[i]) * pixels + p] +=
          raw.train.pixels[static_cast<size_t>(i) * pixels + p] / 100.0;
    }
  }
  int correct = 0;
  for (int64_t i = 0; i < raw.test.count; ++i) {
    int best = -1;
    double best_distance = 0;
    for (int k = 0; k < 10; ++k) {
      double distance = 0;
      for (size_t p = 0; p < pixels; ++p) {
        const double d =
            raw.test.pixels[static_cast<size_t>(i) * pixels + p] - means[k * pixels + p];
        distance += d * d;
      }
      if (best < 0 || distance < best_distance) {
        best = k;
        best_distance = distance;
      }
    }
    correct += best == raw.test.labels[static_cast<size_t>(i)];
  }
  EXPECT_GT(correct, 0.6 * 500) << "nearest-mean accuracy " << correct / 500.0 << ", chance 0.1";
}

TEST(Synthetic, OnePixelImagesWork) {
  const RawDataset raw =
      make_synthetic({.size = 1, .channels = 2, .classes = 2, .train = 4, .test = 2, .seed = 0});
  EXPECT_EQ(raw.train.pixels.size(), 8u);
}

}  // namespace
}  // namespace vitsweep::data
