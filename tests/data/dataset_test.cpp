#include "data/dataset.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "data_test_support.hpp"

namespace vitsweep::data {
namespace {

using testing::error_message;
using ::testing::HasSubstr;

TrialConfig synthetic_config() {
  TrialConfig config;
  config.dataset = "synthetic";
  config.synthetic_size = 8;
  config.synthetic_channels = 3;
  config.synthetic_classes = 4;
  config.synthetic_train = 200;
  config.synthetic_test = 40;
  return config;
}

// A Fashion-MNIST-shaped data set read from fixture files in `dir`.
TrialConfig idx_config(const testing::TempDir& dir) {
  TrialConfig config;
  config.dataset = "fashion-mnist";
  config.data_dir = dir.path();
  return config;
}

// The images of a split as a set of pixel vectors, to compare splits by content.
std::set<std::vector<float>> image_set(const Split& split, size_t floats_per_image) {
  std::set<std::vector<float>> images;
  const std::vector<float> floats = normalised_images(split);
  for (int64_t i = 0; i < split.count; ++i) {
    const auto begin = floats.begin() + static_cast<std::ptrdiff_t>(i * floats_per_image);
    images.emplace(begin, begin + static_cast<std::ptrdiff_t>(floats_per_image));
  }
  return images;
}

TEST(DefaultDataDir, StandardPlaces) {
  EXPECT_EQ(default_data_dir("fashion-mnist"), "/usr/share/datasets/fashion-mnist");
  EXPECT_EQ(default_data_dir("mnist"), "/usr/share/datasets/mnist");
  EXPECT_EQ(default_data_dir("cifar10"), "/usr/share/datasets/cifar-10-batches-bin");
  EXPECT_EQ(default_data_dir("cifar100"), "/usr/share/datasets/cifar-100-binary");
  EXPECT_EQ(default_data_dir("synthetic"), "");
  EXPECT_THROW(default_data_dir("fashion_mnist"), UsageError);
}

TEST(Normalization, StoredTrainingImagesHaveZeroMeanUnitStdPerChannel) {
  const Dataset dataset = load_dataset(synthetic_config());
  const size_t plane = 8 * 8;
  const std::vector<float> images = normalised_images(dataset.train);
  for (size_t c = 0; c < 3; ++c) {
    double sum = 0, squares = 0, n = 0;
    for (int64_t i = 0; i < dataset.train.count; ++i) {
      const float* pixels = images.data() + (static_cast<size_t>(i) * 3 + c) * plane;
      for (size_t p = 0; p < plane; ++p) {
        sum += pixels[p];
        squares += double{pixels[p]} * pixels[p];
        ++n;
      }
    }
    const double mean = sum / n;
    EXPECT_NEAR(mean, 0.0, 1e-5) << "channel " << c;
    EXPECT_NEAR(std::sqrt(squares / n - mean * mean), 1.0, 1e-5) << "channel " << c;
  }
}

TEST(Normalization, ConstantsComeFromTheWholeTrainingFile) {
  // Holding out validation images or taking a subset must not change the constants.
  TrialConfig config = synthetic_config();
  const Normalization full = load_dataset(config).norm;
  config.val_fraction = 0.25;
  config.train_subset = 30;
  const Normalization split = load_dataset(config).norm;
  EXPECT_EQ(full.mean, split.mean);
  EXPECT_EQ(full.std, split.std);
}

TEST(Normalization, MatchesAHandComputedValue) {
  // Two 1x1 "images" with pixels 0 and 255: mean 0.5, population std 0.5.
  RawSplit split;
  split.count = 2;
  split.pixels = {0, 255};
  const Normalization norm = compute_normalization(split, ImageSpec{1, 1, 1, 2});
  EXPECT_FLOAT_EQ(norm.mean[0], 0.5f);
  EXPECT_FLOAT_EQ(norm.std[0], 0.5f);
  EXPECT_FLOAT_EQ(normalize_pixel(0, norm.mean[0], norm.std[0]), -1.0f);
  EXPECT_FLOAT_EQ(normalize_pixel(255, norm.mean[0], norm.std[0]), 1.0f);
}

TEST(Normalization, EveryPixelOfEveryBlockAndChannelIsCounted) {
  // 600 images (blocks of 256, the last one partial), 3 channels of 5x7 pixels (a plane that
  // does not divide into the counting lanes), runs of one value like an image's background:
  // the constants agree with sums taken pixel by pixel.
  const ImageSpec image{3, 5, 7, 10};
  const size_t plane = 5 * 7;
  RawSplit split;
  split.count = 600;
  split.pixels.resize(600 * 3 * plane);
  uint32_t state = 12345;
  for (size_t i = 0; i < split.pixels.size(); ++i) {
    state = state * 1664525u + 1013904223u;
    split.pixels[i] = (state >> 24) < 96 ? 0 : static_cast<uint8_t>(state >> 16);
  }
  const Normalization norm = compute_normalization(split, image);
  for (size_t c = 0; c < 3; ++c) {
    double sum = 0, squares = 0;
    for (size_t i = 0; i < 600; ++i) {
      for (size_t p = 0; p < plane; ++p) {
        const double v = split.pixels[(i * 3 + c) * plane + p] / 255.0;
        sum += v;
        squares += v * v;
      }
    }
    const double n = 600.0 * plane, mean = sum / n;
    EXPECT_NEAR(norm.mean[c], mean, 1e-6) << "channel " << c;
    EXPECT_NEAR(norm.std[c], std::sqrt(squares / n - mean * mean), 1e-6) << "channel " << c;
  }
}

TEST(ValidationSplit, SizesAndDisjointness) {
  TrialConfig config = synthetic_config();
  config.val_fraction = 0.1;
  const Dataset dataset = load_dataset(config);
  EXPECT_EQ(dataset.val.count, 20);  // round(200 * 0.1)
  EXPECT_EQ(dataset.train.count, 180);
  EXPECT_EQ(dataset.test.count, 40);
  EXPECT_EQ(dataset.val.pixels.size(), 20u * 3 * 8 * 8);

  const size_t floats = 3 * 8 * 8;
  const auto train = image_set(dataset.train, floats), val = image_set(dataset.val, floats);
  const auto all = image_set(load_dataset(synthetic_config()).train, floats);
  for (const auto& image : val) EXPECT_EQ(train.count(image), 0u) << "a val image is also in train";
  EXPECT_EQ(train.size() + val.size(), all.size());
}

TEST(ValidationSplit, DependsOnTheSeed) {
  // File-backed, so that a new seed changes the split but not the images themselves.
  testing::TempDir dir;
  testing::write_mnist_files(dir, 50, 5, true);
  TrialConfig config = idx_config(dir);
  config.val_fraction = 0.2;
  const Dataset a = load_dataset(config);
  const Dataset b = load_dataset(config);
  config.seed = 1;
  const Dataset c = load_dataset(config);
  EXPECT_EQ(a.val.count, 10);
  EXPECT_EQ(a.val.pixels, b.val.pixels);
  EXPECT_NE(a.val.pixels, c.val.pixels);
  EXPECT_EQ(a.test.pixels, c.test.pixels);
}

TEST(ValidationSplit, RoundsToTheNearestImage) {
  TrialConfig config = synthetic_config();
  config.synthetic_train = 7;
  config.val_fraction = 0.5;  // 3.5 rounds away from zero to 4
  EXPECT_EQ(load_dataset(config).val.count, 4);
  config.val_fraction = 0.05;  // 0.35 rounds to 0: nothing held out
  EXPECT_EQ(load_dataset(config).val.count, 0);
}

TEST(TrainSubset, KeepsTheRequestedNumber) {
  TrialConfig config = synthetic_config();
  config.train_subset = 50;
  const Dataset dataset = load_dataset(config);
  EXPECT_EQ(dataset.train.count, 50);
  EXPECT_EQ(dataset.train.labels.size(), 50u);
  EXPECT_EQ(dataset.test.count, 40);  // the test set is never subset
}

TEST(TrainSubset, AppliesAfterTheValidationSplit) {
  TrialConfig config = synthetic_config();
  config.val_fraction = 0.2;
  config.train_subset = 160;  // exactly what is left
  const Dataset dataset = load_dataset(config);
  EXPECT_EQ(dataset.train.count, 160);
  EXPECT_EQ(dataset.val.count, 40);
}

TEST(TrainSubset, IsASeededSampleOfTheTrainingSet) {
  testing::TempDir dir;
  testing::write_mnist_files(dir, 50, 5, false);
  TrialConfig config = idx_config(dir);
  config.train_subset = 10;
  const Dataset a = load_dataset(config);
  const Dataset b = load_dataset(config);
  config.seed = 1;
  const Dataset c = load_dataset(config);
  EXPECT_EQ(a.train.count, 10);
  EXPECT_EQ(a.train.pixels, b.train.pixels);
  EXPECT_NE(a.train.pixels, c.train.pixels);

  config.train_subset = 0;
  const auto all = image_set(load_dataset(config).train, 784);
  for (const auto& image : image_set(a.train, 784)) EXPECT_EQ(all.count(image), 1u);
}

TEST(TrainSubset, TooLargeIsAUsageErrorNamingKeyValueAndAvailable) {
  TrialConfig config = synthetic_config();
  config.train_subset = 500;
  EXPECT_THROW(load_dataset(config), UsageError);
  EXPECT_THAT(error_message([&] { load_dataset(config); }),
              HasSubstr("train_subset 500 is more than the 200 training images of synthetic"));
  config.val_fraction = 0.5;
  config.train_subset = 101;
  EXPECT_THAT(error_message([&] { load_dataset(config); }),
              HasSubstr("train_subset 101 is more than the 100 training images of synthetic left "
                        "after holding out 100 for validation (val_fraction 0.5)"));
}

TEST(LoadDataset, ReportsLoadTime) {
  const Dataset dataset = load_dataset(synthetic_config());
  EXPECT_GT(dataset.load_seconds, 0.0);
  EXPECT_LT(dataset.load_seconds, 10.0);
  EXPECT_EQ(dataset.name, "synthetic");
}

}  // namespace
}  // namespace vitsweep::data
