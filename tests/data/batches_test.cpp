#include "data/batches.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <numeric>

#include "data/augmentation.hpp"
#include "data_test_support.hpp"
#include "support/threads.hpp"

namespace vitsweep::data {
namespace {

using ::testing::HasSubstr;

// 2 channels of 5x4 (height != width, to catch swapped axes).
const ImageSpec kImage{2, 5, 4, 3};
constexpr size_t kFloats = 2 * 5 * 4;

// The float of pixel (i, c, y, x) of make_split: the channel in the thousands, and below them
// the pixel's byte, (20 i + 4 y + x) mod 251. Within an image every pixel of a channel differs,
// and no two of the 40 images are alike (20 and 251 are coprime).
uint8_t pixel_byte(int i, int y, int x) { return static_cast<uint8_t>((20 * i + 4 * y + x) % 251); }
float pixel_value(int i, int c, int y, int x) {
  return static_cast<float>(c * 1000 + pixel_byte(i, y, x));
}

// 40 images of bytes; channel c's byte b stands for c * 1000 + b.
Split make_split() {
  Split split;
  split.count = 40;
  split.normalised.resize(2);
  for (int c = 0; c < 2; ++c) {
    for (int b = 0; b < 256; ++b) split.normalised[c][b] = static_cast<float>(c * 1000 + b);
  }
  for (int i = 0; i < 40; ++i) {
    split.labels.push_back(i % 3);
    for (int c = 0; c < 2; ++c) {
      for (int y = 0; y < 5; ++y) {
        for (int x = 0; x < 4; ++x) split.pixels.push_back(pixel_byte(i, y, x));
      }
    }
  }
  return split;
}

Augmentation make_augmentation(bool crop, bool flip) {
  Augmentation augmentation;
  augmentation.crop = crop;
  augmentation.flip = flip;
  augmentation.padding = 2;
  augmentation.pad_value = {-7.0f, -9.0f};
  return augmentation;
}

struct Batch {
  std::vector<float> images;
  std::vector<int32_t> labels;
};

Batch gather(const Split& split, const std::vector<uint32_t>& indices,
             const Augmentation& augmentation, uint64_t seed = 1, int64_t epoch = 0) {
  Batch batch{std::vector<float>(indices.size() * kFloats), std::vector<int32_t>(indices.size())};
  gather_batch(split, kImage, indices, augmentation, seed, epoch, batch.images.data(),
               batch.labels.data());
  return batch;
}

std::vector<float> image_at(const std::vector<float>& images, size_t i) {
  return {images.begin() + static_cast<std::ptrdiff_t>(i * kFloats),
          images.begin() + static_cast<std::ptrdiff_t>((i + 1) * kFloats)};
}

std::vector<float> mirror(const std::vector<float>& image) {
  std::vector<float> out(image.size());
  for (size_t row = 0; row < image.size() / 4; ++row) {
    for (size_t x = 0; x < 4; ++x) out[row * 4 + x] = image[row * 4 + 3 - x];
  }
  return out;
}

std::vector<uint32_t> all_indices() {
  std::vector<uint32_t> indices(40);
  std::iota(indices.begin(), indices.end(), 0u);
  return indices;
}

TEST(GatherBatch, WithoutAugmentationCopiesImagesAndLabels) {
  const Split split = make_split();
  const Batch batch = gather(split, {7, 2, 7}, Augmentation{});
  const std::vector<float> images = normalised_images(split);
  EXPECT_EQ(image_at(batch.images, 0), image_at(images, 7));
  EXPECT_EQ(image_at(batch.images, 1), image_at(images, 2));
  EXPECT_EQ(image_at(batch.images, 2), image_at(images, 7));
  EXPECT_EQ(image_at(batch.images, 1)[5], pixel_value(2, 0, 1, 1));
  EXPECT_EQ(image_at(batch.images, 0)[20 + 19], pixel_value(7, 1, 4, 3));
  EXPECT_THAT(batch.labels, ::testing::ElementsAre(1, 2, 1));
}

TEST(GatherBatch, IsDeterministic) {
  const Split split = make_split();
  const Augmentation augmentation = make_augmentation(true, true);
  EXPECT_EQ(gather(split, all_indices(), augmentation).images,
            gather(split, all_indices(), augmentation).images);
}

TEST(GatherBatch, AnImageAugmentsTheSameWhateverElseIsInTheBatch) {
  const Split split = make_split();
  const Augmentation augmentation = make_augmentation(true, true);
  const Batch full = gather(split, all_indices(), augmentation);
  const Batch alone = gather(split, {13}, augmentation);
  const Batch mixed = gather(split, {39, 13, 0}, augmentation);
  EXPECT_EQ(image_at(alone.images, 0), image_at(full.images, 13));
  EXPECT_EQ(image_at(mixed.images, 1), image_at(full.images, 13));
  EXPECT_EQ(image_at(mixed.images, 0), image_at(full.images, 39));
}

TEST(GatherBatch, SameOnTwoThreadsAsOnOne) {
  const Split split = make_split();
  const Augmentation augmentation = make_augmentation(true, true);
  std::vector<uint32_t> indices(4000);  // every image 100 times: long enough to split
  for (size_t i = 0; i < indices.size(); ++i) indices[i] = static_cast<uint32_t>(i * 7 % 40);
  const Batch serial = gather(split, indices, augmentation);
  vitsweep::testing::TestThreads two(2);
  ASSERT_EQ(vitsweep::testing::tbb_threads_meeting(2), 2);
  const int threads = vitsweep::testing::run_until_parallel([&] {
    const Batch parallel = gather(split, indices, augmentation);
    ASSERT_EQ(parallel.images, serial.images);
    ASSERT_EQ(parallel.labels, serial.labels);
  });
  EXPECT_EQ(threads, 2);
}

TEST(GatherBatch, DifferentEpochsAugmentDifferently) {
  const Split split = make_split();
  const Augmentation augmentation = make_augmentation(true, true);
  EXPECT_NE(gather(split, all_indices(), augmentation, 1, 0).images,
            gather(split, all_indices(), augmentation, 1, 1).images);
  EXPECT_NE(gather(split, all_indices(), augmentation, 1, 0).images,
            gather(split, all_indices(), augmentation, 2, 0).images);
}

TEST(GatherBatch, FlipOnlyMirrorsExactlyTheDrawnImages) {
  const Split split = make_split();
  const Augmentation augmentation = make_augmentation(false, true);
  const Batch batch = gather(split, all_indices(), augmentation);
  int flipped = 0;
  for (uint32_t i = 0; i < 40; ++i) {
    const AugmentationDraw draw = draw_augmentation(augmentation, 1, 0, i);
    EXPECT_EQ(draw.shift_x, 0);
    EXPECT_EQ(draw.shift_y, 0);
    const std::vector<float> original = image_at(normalised_images(split), i);
    EXPECT_EQ(image_at(batch.images, i), draw.flip ? mirror(original) : original) << "image " << i;
    flipped += draw.flip;
  }
  // About half: both cases are exercised.
  EXPECT_GT(flipped, 8);
  EXPECT_LT(flipped, 32);
}

TEST(GatherBatch, WithCropAndFlipAFlippedImageIsTheMirrorOfItsCrop) {
  // The draw is the same with and without flip enabled, so the crop-only batch holds each
  // image's unflipped crop.
  const Split split = make_split();
  const Augmentation both = make_augmentation(true, true);
  const Batch cropped_flipped = gather(split, all_indices(), both);
  const Batch cropped = gather(split, all_indices(), make_augmentation(true, false));
  int flipped = 0;
  for (uint32_t i = 0; i < 40; ++i) {
    const bool flip = draw_augmentation(both, 1, 0, i).flip;
    const std::vector<float> crop = image_at(cropped.images, i);
    EXPECT_EQ(image_at(cropped_flipped.images, i), flip ? mirror(crop) : crop) << "image " << i;
    flipped += flip;
  }
  EXPECT_GT(flipped, 0);
}

TEST(GatherBatch, CropShiftsTheImageAndPadsWithBlack) {
  const Split split = make_split();
  const Augmentation augmentation = make_augmentation(true, false);
  const Batch batch = gather(split, all_indices(), augmentation);
  int padded_images = 0;
  for (uint32_t i = 0; i < 40; ++i) {
    const AugmentationDraw draw = draw_augmentation(augmentation, 1, 0, i);
    EXPECT_LE(std::abs(draw.shift_y), 2);
    EXPECT_LE(std::abs(draw.shift_x), 2);
    const std::vector<float> out = image_at(batch.images, i);
    for (int c = 0; c < 2; ++c) {
      for (int y = 0; y < 5; ++y) {
        for (int x = 0; x < 4; ++x) {
          const int sy = y + draw.shift_y, sx = x + draw.shift_x;
          const bool inside = sy >= 0 && sy < 5 && sx >= 0 && sx < 4;
          const float expected = inside ? pixel_value(static_cast<int>(i), c, sy, sx)
                                        : augmentation.pad_value[static_cast<size_t>(c)];
          EXPECT_EQ(out[static_cast<size_t>((c * 5 + y) * 4 + x)], expected)
              << "image " << i << " c " << c << " y " << y << " x " << x;
        }
      }
    }
    padded_images += draw.shift_x != 0 || draw.shift_y != 0;
  }
  EXPECT_GT(padded_images, 20);
}

TEST(GatherBatch, IndexOutsideTheSplitIsAnError) {
  const Split split = make_split();
  EXPECT_THAT(testing::error_message([&] {
                gather(split, {1, 40}, Augmentation{});
              }),
              HasSubstr("index 40 at batch position 1 is outside the split of 40 images"));
}

TEST(AugmentationFor, ReadsAugmentAndCropPadding) {
  Normalization norm{{0.25f, 0.5f}, {0.5f, 0.25f}};
  TrialConfig config;
  config.crop_padding = 3;
  config.augment = "none";
  Augmentation a = augmentation_for(config, norm);
  EXPECT_FALSE(a.crop);
  EXPECT_FALSE(a.flip);
  config.augment = "crop";
  a = augmentation_for(config, norm);
  EXPECT_TRUE(a.crop);
  EXPECT_FALSE(a.flip);
  EXPECT_EQ(a.padding, 3);
  config.augment = "flip";
  a = augmentation_for(config, norm);
  EXPECT_FALSE(a.crop);
  EXPECT_TRUE(a.flip);
  config.augment = "crop+flip";
  a = augmentation_for(config, norm);
  EXPECT_TRUE(a.crop);
  EXPECT_TRUE(a.flip);
  // Black is raw 0: (0 - mean) / std.
  EXPECT_THAT(a.pad_value, ::testing::ElementsAre(-0.5f, -2.0f));
}

TEST(AugmentationFor, PadValueEqualsAStoredBlackPixel) {
  testing::TempDir dir;
  testing::write_mnist_files(dir, 4, 1, false);  // image 0's first pixel is 0
  TrialConfig config;
  config.data_dir = dir.path();
  config.augment = "crop";
  const Dataset dataset = load_dataset(config);
  const Augmentation augmentation = augmentation_for(config, dataset.norm);
  EXPECT_EQ(augmentation.pad_value.at(0), normalised_images(dataset.train).at(0));
}

}  // namespace
}  // namespace vitsweep::data
