#include "data/cifar.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "data/dataset.hpp"
#include "data_test_support.hpp"

namespace vitsweep::data {
namespace {

using testing::Bytes;
using testing::cifar_bytes;
using ::testing::ElementsAre;
using testing::error_message;
using ::testing::HasSubstr;
using testing::TempDir;

TEST(ParseCifar, Cifar10RecordsAreLabelThenPlanes) {
  const CifarRecords records = parse_cifar(cifar_bytes({{3}, {9}}), "b.bin", 1, 10);
  EXPECT_EQ(records.count, 2);
  EXPECT_THAT(records.labels, ElementsAre(3, 9));
  ASSERT_EQ(records.images.size(), 2u * 3072);
  // Record r's pixel p is (r + p) mod 256: the red plane starts at 0, green at 1024 mod 256 = 0,
  // and the second record starts at 1.
  EXPECT_EQ(records.images[0], 0);
  EXPECT_EQ(records.images[1023], 255);
  EXPECT_EQ(records.images[3072], 1);
  EXPECT_EQ(records.images[3072 + 3071], static_cast<uint8_t>(1 + 3071));
}

TEST(ParseCifar, Cifar100UsesTheFineLabel) {
  // (coarse, fine) pairs; the coarse label is ignored even when out of the fine range's order.
  const CifarRecords records = parse_cifar(cifar_bytes({{19, 99}, {0, 42}}), "train.bin", 2, 100);
  EXPECT_THAT(records.labels, ElementsAre(99, 42));
  EXPECT_EQ(records.images[0], 0);  // not the fine label byte
}

TEST(ParseCifar, SizeNotAWholeNumberOfRecords) {
  Bytes bytes = cifar_bytes({{1}, {2}});
  bytes.pop_back();
  EXPECT_THAT(error_message([&] { parse_cifar(bytes, "/c/data_batch_1.bin", 1, 10); }),
              HasSubstr("/c/data_batch_1.bin: 6145 bytes is not a whole number of 3073-byte "
                        "records (1 label byte + 3072 pixel bytes): found 1 records and 3072 "
                        "bytes over"));
}

TEST(ParseCifar, Cifar10FileReadAsCifar100IsTheWrongRecordSize) {
  const Bytes bytes = cifar_bytes({{1}, {2}});
  EXPECT_THAT(error_message([&] { parse_cifar(bytes, "train.bin", 2, 100); }),
              HasSubstr("3074-byte records (2 label bytes + 3072 pixel bytes)"));
}

TEST(ParseCifar, EveryWrongSizeIsAnError) {
  const Bytes full = cifar_bytes({{1}, {2}});
  for (const size_t size : {size_t{1}, size_t{3072}, size_t{3074}, full.size() - 1}) {
    const Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(size));
    EXPECT_THROW(parse_cifar(prefix, "p.bin", 1, 10), Error) << size << " bytes";
  }
}

TEST(ParseCifar, EmptyFile) {
  EXPECT_THAT(error_message([] { parse_cifar({}, "e.bin", 1, 10); }),
              HasSubstr("e.bin: empty file: expected records of 3073 bytes"));
}

TEST(ParseCifar, LabelOutOfRangeNamesLabelAndIndex) {
  EXPECT_THAT(error_message([] {
                parse_cifar(cifar_bytes({{1}, {2}, {10}}), "t.bin", 1, 10);
              }),
              HasSubstr("t.bin: label 10 at index 2 is out of range (expected 0..9)"));
  EXPECT_THAT(error_message([] {
                parse_cifar(cifar_bytes({{0, 100}}), "c100.bin", 2, 100);
              }),
              HasSubstr("c100.bin: fine label 100 at index 0 is out of range (expected 0..99)"));
}

TEST(LoadCifar, Cifar10ConcatenatesTheFiveBatches) {
  TempDir dir;
  for (int b = 1; b <= 5; ++b) {
    dir.write("data_batch_" + std::to_string(b) + ".bin",
              cifar_bytes({{static_cast<uint8_t>(b)}, {static_cast<uint8_t>(b)}}));
  }
  dir.write("test_batch.bin", cifar_bytes({{0}, {9}, {4}}));
  TrialConfig config;
  config.dataset = "cifar10";
  config.data_dir = dir.path();
  const Dataset dataset = load_dataset(config);
  EXPECT_EQ(dataset.train.count, 10);
  EXPECT_THAT(dataset.train.labels, ElementsAre(1, 1, 2, 2, 3, 3, 4, 4, 5, 5));
  EXPECT_THAT(dataset.test.labels, ElementsAre(0, 9, 4));
  EXPECT_EQ(dataset.train.pixels.size(), 10u * 3 * 32 * 32);
  EXPECT_EQ(dataset.files.size(), 6u);
  EXPECT_EQ(dataset.files.back(), dir.file("test_batch.bin"));
  EXPECT_EQ(dataset.norm.mean.size(), 3u);
}

TEST(LoadCifar, Cifar100ReadsTrainAndTest) {
  TempDir dir;
  dir.write("train.bin", cifar_bytes({{1, 57}, {2, 3}, {3, 99}}));
  dir.write("test.bin", cifar_bytes({{0, 0}}));
  TrialConfig config;
  config.dataset = "cifar100";
  config.data_dir = dir.path();
  const Dataset dataset = load_dataset(config);
  EXPECT_THAT(dataset.train.labels, ElementsAre(57, 3, 99));
  EXPECT_THAT(dataset.test.labels, ElementsAre(0));
  EXPECT_EQ(dataset.image.classes, 100);
}

TEST(LoadCifar, MissingBatchSaysWhichAndWhereToGetIt) {
  TempDir dir;
  dir.write("data_batch_1.bin", cifar_bytes({{1}}));
  TrialConfig config;
  config.dataset = "cifar10";
  config.data_dir = dir.path();
  const std::string message = error_message([&] { load_dataset(config); });
  EXPECT_THAT(message, HasSubstr("cifar10 not found in " + dir.path() + ": no data_batch_2.bin"));
  EXPECT_THAT(message, HasSubstr("cifar-10-binary.tar.gz"));
}

TEST(LoadCifar, MissingDirectoryUsesTheDefaultPlace) {
  if (std::filesystem::exists(default_data_dir("cifar100"))) GTEST_SKIP() << "CIFAR-100 installed";
  TrialConfig config;
  config.dataset = "cifar100";
  EXPECT_THAT(error_message([&] { load_dataset(config); }),
              HasSubstr("cifar100 not found in /usr/share/datasets/cifar-100-binary"));
}

}  // namespace
}  // namespace vitsweep::data
