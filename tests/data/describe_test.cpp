#include "data/describe.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace vitsweep::data {
namespace {

using ::testing::HasSubstr;

Dataset small_synthetic() {
  TrialConfig config;
  config.dataset = "synthetic";
  config.synthetic_size = 4;
  config.synthetic_classes = 3;
  config.synthetic_train = 30;
  config.synthetic_test = 7;
  config.val_fraction = 0.1;
  return load_dataset(config);
}

TEST(ClassCounts, CountsEachLabel) {
  Split split;
  split.labels = {0, 2, 2, 1, 2};
  EXPECT_THAT(class_counts(split, 4), ::testing::ElementsAre(1, 1, 3, 0));
}

TEST(DescribeDataset, HoldsSizesShapeHistogramsAndConstants) {
  const Dataset dataset = small_synthetic();
  const OrderedJson json = describe_dataset(dataset);
  EXPECT_EQ(json["dataset"], "synthetic");
  EXPECT_EQ(json["image"]["channels"], 1);
  EXPECT_EQ(json["image"]["height"], 4);
  EXPECT_EQ(json["classes"], 3);
  EXPECT_EQ(json["splits"]["train"]["count"], 27);
  EXPECT_EQ(json["splits"]["val"]["count"], 3);
  EXPECT_EQ(json["splits"]["test"]["count"], 7);
  EXPECT_EQ(json["splits"]["test"]["class_counts"], OrderedJson({3, 2, 2}));
  EXPECT_EQ(json["normalization"]["mean"].size(), 1u);
  EXPECT_FLOAT_EQ(json["normalization"]["std"][0].get<float>(), dataset.norm.std[0]);
  EXPECT_TRUE(json["files"].empty());
  EXPECT_TRUE(json["load_seconds"].is_number());
}

TEST(FormatDatasetInfo, AlignedLines) {
  const std::string text = format_dataset_info(small_synthetic());
  // Values start in one column, after the longest label ("load time") and two spaces.
  EXPECT_THAT(text, HasSubstr("dataset    synthetic: 1x4x4 images (CxHxW), 3 classes\n"));
  EXPECT_THAT(text, HasSubstr("\ntest       7 images, per class 3 2 2\n"));
  EXPECT_THAT(text, HasSubstr("\nval        3 images, per class "));
  EXPECT_THAT(text, ::testing::MatchesRegex(".*\nload time  [0-9]+\\.[0-9][0-9]s\n.*"));
  EXPECT_THAT(text, HasSubstr("\nfiles      none (generated)\n"));
}

TEST(FormatDatasetInfo, BalancedAndManyClassCountsAreSummarised) {
  Dataset dataset;
  dataset.name = "hand-made";
  dataset.image = ImageSpec{1, 2, 2, 12};
  dataset.norm = {{0.5f}, {0.25f}};
  for (int i = 0; i < 24; ++i) dataset.train.labels.push_back(i % 12);
  dataset.train.count = 24;
  for (int i = 0; i < 13; ++i) dataset.test.labels.push_back(i % 12);
  dataset.test.count = 13;
  dataset.files = {"/a/one", "/a/two"};
  const std::string text = format_dataset_info(dataset);
  EXPECT_THAT(text, HasSubstr("\ntrain      24 images, 2 per class\n"));
  EXPECT_THAT(text, HasSubstr("\ntest       13 images, 1 to 2 per class\n"));
  EXPECT_THAT(text, HasSubstr("\nfiles      /a/one\n           /a/two\n"));
}

}  // namespace
}  // namespace vitsweep::data
