// The real Fashion-MNIST from the Debian package, when installed: the numbers every paper quotes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "data/dataset.hpp"
#include "data/describe.hpp"

namespace vitsweep::data {
namespace {

class FashionMnist : public ::testing::Test {
 protected:
  // Loaded once for the suite: 70k images take a moment.
  static void SetUpTestSuite() {
    if (!std::filesystem::exists(default_data_dir("fashion-mnist"))) return;
    TrialConfig config;
    config.dataset = "fashion-mnist";
    dataset_ = std::make_unique<Dataset>(load_dataset(config));
    std::cout << format_dataset_info(*dataset_);
  }
  static void TearDownTestSuite() { dataset_.reset(); }

  void SetUp() override {
    if (!dataset_) {
      GTEST_SKIP() << default_data_dir("fashion-mnist")
                   << " not found: apt-get install dataset-fashion-mnist to run these tests";
    }
  }

  static std::unique_ptr<Dataset> dataset_;
};

std::unique_ptr<Dataset> FashionMnist::dataset_;

TEST_F(FashionMnist, SizesShapeAndClassBalance) {
  const Dataset& d = *dataset_;
  EXPECT_EQ(d.train.count, 60000);
  EXPECT_EQ(d.test.count, 10000);
  EXPECT_EQ(d.val.count, 0);
  EXPECT_EQ(d.image.channels, 1);
  EXPECT_EQ(d.image.height, 28);
  EXPECT_EQ(d.image.width, 28);
  EXPECT_EQ(d.image.classes, 10);
  EXPECT_EQ(d.train.pixels.size(), 60000u * 28 * 28);
  EXPECT_THAT(class_counts(d.train, 10), ::testing::Each(6000));
  EXPECT_THAT(class_counts(d.test, 10), ::testing::Each(1000));
  EXPECT_EQ(d.files.size(), 4u);
  RecordProperty("load_seconds", std::to_string(d.load_seconds));
}

TEST_F(FashionMnist, NormalizationConstantsAreTheKnownOnes) {
  // The widely quoted Fashion-MNIST training-set statistics.
  EXPECT_NEAR(dataset_->norm.mean.at(0), 0.2860, 0.001);
  EXPECT_NEAR(dataset_->norm.std.at(0), 0.3530, 0.001);
}

}  // namespace
}  // namespace vitsweep::data
