#include "data/idx.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/trial_config.hpp"
#include "data/dataset.hpp"
#include "data/idx_dataset.hpp"
#include "data_test_support.hpp"

namespace vitsweep::data {
namespace {

using testing::Bytes;
using ::testing::ElementsAre;
using testing::error_message;
using testing::gzip_bytes;
using ::testing::HasSubstr;
using testing::idx_bytes;
using testing::TempDir;

const ImageSpec kMnistImage{1, 28, 28, 10};

TEST(ParseIdx, ReadsDimsAndData) {
  const IdxArray array = parse_idx(idx_bytes({2, 3}, {1, 2, 3, 4, 5, 6}), "a.idx");
  EXPECT_THAT(array.dims, ElementsAre(2, 3));
  EXPECT_THAT(array.data, ElementsAre(1, 2, 3, 4, 5, 6));
}

TEST(ParseIdx, DimsAreBigEndian) {
  // 0x00010002 = 65538 elements.
  const IdxArray array = parse_idx(idx_bytes({65538}, Bytes(65538, 7)), "a.idx");
  EXPECT_THAT(array.dims, ElementsAre(65538));
}

TEST(ParseIdx, WrongMagicNamesExpectedAndFound) {
  Bytes bytes = idx_bytes({1}, {0});
  bytes[0] = 0x1f;
  bytes[1] = 0x8b;
  const std::string message = error_message([&] { parse_idx(bytes, "/d/x-idx1-ubyte"); });
  EXPECT_THAT(message, HasSubstr("/d/x-idx1-ubyte: not an IDX file"));
  EXPECT_THAT(message, HasSubstr("expected magic 00 00 08"));
  EXPECT_THAT(message, HasSubstr("found 1f 8b 08 01"));
}

TEST(ParseIdx, UnsupportedElementTypeNamesExpectedAndFound) {
  Bytes bytes = idx_bytes({1}, {0});
  bytes[2] = 0x0d;  // float
  const std::string message = error_message([&] { parse_idx(bytes, "f.idx"); });
  EXPECT_THAT(message, HasSubstr("f.idx: unsupported IDX element type 0x0d (expected 0x08"));
}

TEST(ParseIdx, DimsThatDisagreeWithTheSizeNameBothByteCounts) {
  // 2x28x28 promises 1568 bytes after the 16-byte header; give 1500.
  const Bytes bytes = idx_bytes({2, 28, 28}, Bytes(1500, 0));
  const std::string message = error_message([&] { parse_idx(bytes, "imgs"); });
  EXPECT_THAT(message, HasSubstr("imgs: IDX dims 2x28x28 need 1568 data bytes after the 16-byte "
                                 "header, found 1500"));
}

TEST(ParseIdx, ShortHeaderIsAnError) {
  const Bytes bytes = {0, 0, 8, 3, 0, 0};
  EXPECT_THAT(error_message([&] { parse_idx(bytes, "h"); }),
              HasSubstr("h: truncated IDX header: 3 dims need a 16-byte header, found 6 bytes"));
  EXPECT_THAT(error_message([&] {
                parse_idx(Bytes{0, 0}, "tiny");
              }),
              HasSubstr("tiny: too short for an IDX file"));
}

TEST(ParseIdx, HugeDimsDoNotOverflow) {
  const Bytes bytes = idx_bytes({0xffffffff, 0xffffffff, 0xffffffff}, Bytes(10, 0));
  EXPECT_THAT(error_message([&] { parse_idx(bytes, "huge"); }),
              HasSubstr("need more than 2^64 data bytes"));
}

TEST(ParseIdx, EveryTruncationIsAnErrorNotACrash) {
  // What a fuzzer would try first; run under the sanitizers this also checks the bounds.
  const Bytes full = idx_bytes({2, 3, 4}, Bytes(24, 9));
  for (size_t size = 0; size < full.size(); ++size) {
    const Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(size));
    EXPECT_THROW(parse_idx(prefix, "prefix"), Error) << size << " bytes";
  }
}

TEST(ReadIdxFile, RawAndGzipReadTheSame) {
  TempDir dir;
  const Bytes raw = idx_bytes({3, 28, 28}, testing::mnist_pixels(3));
  const IdxArray plain = read_idx_file(dir.write("plain", raw));
  // The gzip magic decides, not the name: a gzipped file without .gz still decodes.
  const IdxArray gzipped = read_idx_file(dir.write("gzipped-without-extension", gzip_bytes(raw)));
  EXPECT_THAT(plain.dims, ElementsAre(3, 28, 28));
  EXPECT_EQ(plain.data, testing::mnist_pixels(3));
  EXPECT_EQ(gzipped.dims, plain.dims);
  EXPECT_EQ(gzipped.data, plain.data);
}

TEST(ReadIdxFile, TruncatedGzipNamesTheFile) {
  TempDir dir;
  Bytes gz = gzip_bytes(idx_bytes({20, 28, 28}, testing::mnist_pixels(20)));
  gz.resize(gz.size() / 2);
  const std::string path = dir.write("train-images-idx3-ubyte.gz", gz);
  const std::string message = error_message([&] { read_idx_file(path); });
  EXPECT_THAT(message, HasSubstr(path + ": truncated gzip data"));
}

TEST(ReadIdxFile, MissingFileNamesIt) {
  EXPECT_THAT(error_message([] { read_idx_file("/nonexistent/file"); }),
              HasSubstr("/nonexistent/file: cannot open: No such file or directory"));
}

TEST(LoadIdxDataset, ReadsGzippedAndRawFiles) {
  for (const bool gzip : {true, false}) {
    TempDir dir;
    testing::write_mnist_files(dir, 12, 5, gzip);
    const RawDataset raw = load_idx_dataset("fashion-mnist", dir.path(), kMnistImage);
    EXPECT_EQ(raw.train.count, 12);
    EXPECT_EQ(raw.test.count, 5);
    EXPECT_EQ(raw.train.pixels, testing::mnist_pixels(12));
    EXPECT_THAT(raw.test.labels, ElementsAre(0, 1, 2, 3, 4));
    const std::string suffix = gzip ? ".gz" : "";
    EXPECT_THAT(raw.files, ElementsAre(dir.file("train-images-idx3-ubyte" + suffix),
                                       dir.file("train-labels-idx1-ubyte" + suffix),
                                       dir.file("t10k-images-idx3-ubyte" + suffix),
                                       dir.file("t10k-labels-idx1-ubyte" + suffix)));
  }
}

TEST(LoadIdxDataset, LabelOutOfRangeNamesLabelAndIndex) {
  TempDir dir;
  testing::write_mnist_files(dir, 8, 2, true);
  Bytes labels = {0, 1, 2, 3, 4, 12, 6, 7};
  const std::string path =
      dir.write("train-labels-idx1-ubyte.gz", gzip_bytes(idx_bytes({8}, labels)));
  EXPECT_THAT(error_message([&] { load_idx_dataset("fashion-mnist", dir.path(), kMnistImage); }),
              HasSubstr(path + ": label 12 at index 5 is out of range (expected 0..9)"));
}

TEST(LoadIdxDataset, LabelCountMustMatchImageCount) {
  TempDir dir;
  testing::write_mnist_files(dir, 8, 2, false);
  const std::string path = dir.write("t10k-labels-idx1-ubyte", idx_bytes({3}, {0, 1, 2}));
  EXPECT_THAT(error_message([&] { load_idx_dataset("mnist", dir.path(), kMnistImage); }),
              HasSubstr(path + ": expected 2 labels, one per image in"));
}

TEST(LoadIdxDataset, ImagesMustBe28x28) {
  TempDir dir;
  testing::write_mnist_files(dir, 8, 2, false);
  const std::string path =
      dir.write("train-images-idx3-ubyte", idx_bytes({2, 32, 32}, Bytes(2048, 0)));
  EXPECT_THAT(error_message([&] { load_idx_dataset("mnist", dir.path(), kMnistImage); }),
              HasSubstr(path + ": expected 28x28 images, found 32x32"));
}

TEST(LoadIdxDataset, ImagesNeedThreeDimsAndLabelsOne) {
  TempDir dir;
  testing::write_mnist_files(dir, 8, 2, false);
  const std::string images =
      dir.write("train-images-idx3-ubyte", idx_bytes({8, 784}, Bytes(8 * 784, 0)));
  EXPECT_THAT(error_message([&] { load_idx_dataset("mnist", dir.path(), kMnistImage); }),
              HasSubstr(images + ": expected 3 dims (images x 28 x 28), found 2 dims (8x784)"));
  testing::write_mnist_files(dir, 8, 2, false);
  const std::string labels = dir.write("t10k-labels-idx1-ubyte", idx_bytes({2, 1}, {0, 1}));
  EXPECT_THAT(error_message([&] { load_idx_dataset("mnist", dir.path(), kMnistImage); }),
              HasSubstr(labels + ": expected 1 dim (labels), found 2 dims (2x1)"));
}

TEST(LoadIdxDataset, MissingDirectorySaysHowToInstall) {
  TrialConfig config;
  config.dataset = "fashion-mnist";
  config.data_dir = "/nonexistent/fashion";
  EXPECT_THAT(error_message([&] { load_dataset(config); }),
              HasSubstr("fashion-mnist not found in /nonexistent/fashion: install it with `apt-get "
                        "install dataset-fashion-mnist` or set data_dir"));
}

TEST(LoadIdxDataset, MissingFileSaysWhichAndHowToInstall) {
  TempDir dir;
  testing::write_mnist_files(dir, 4, 2, true);
  std::filesystem::remove(dir.file("t10k-labels-idx1-ubyte.gz"));
  const std::string message =
      error_message([&] { load_idx_dataset("fashion-mnist", dir.path(), kMnistImage); });
  EXPECT_THAT(message, HasSubstr("neither t10k-labels-idx1-ubyte.gz nor t10k-labels-idx1-ubyte"));
  EXPECT_THAT(message, HasSubstr("apt-get install dataset-fashion-mnist"));
}

TEST(LoadIdxDataset, MissingMnistSaysWhereToPutTheFiles) {
  const std::string message =
      error_message([] { load_idx_dataset("mnist", "/nonexistent/mnist", kMnistImage); });
  EXPECT_THAT(message, HasSubstr("mnist not found in /nonexistent/mnist"));
  EXPECT_THAT(message, HasSubstr("no Debian package"));
  EXPECT_THAT(message, HasSubstr("train-images-idx3-ubyte.gz"));
}

}  // namespace
}  // namespace vitsweep::data
