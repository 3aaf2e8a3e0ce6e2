#include "data/augmentation.hpp"

#include "common/error.hpp"
#include "data/random.hpp"

namespace vitsweep::data {

Augmentation augmentation_for(const TrialConfig& config, const Normalization& norm) {
  Augmentation augmentation;
  if (config.augment == "crop" || config.augment == "crop+flip") {
    augmentation.crop = true;
    augmentation.padding = static_cast<int>(config.crop_padding);
  } else if (config.augment != "none" && config.augment != "flip") {
    fail_usage("augment '{}': expected one of none, crop, flip, crop+flip", config.augment);
  }
  augmentation.flip = config.augment == "flip" || config.augment == "crop+flip";
  for (size_t c = 0; c < norm.mean.size(); ++c) {
    augmentation.pad_value.push_back(normalize_pixel(0, norm.mean[c], norm.std[c]));
  }
  return augmentation;
}

AugmentationDraw draw_augmentation(const Augmentation& augmentation, uint64_t seed, int64_t epoch,
                                   uint32_t index) {
  Random random(
      random_key(RandomStream::kAugmentation, {seed, static_cast<uint64_t>(epoch), index}));
  // Always draw all three, so turning flip on does not change which crops images get.
  const bool flip = random.below(2) == 1;
  const uint64_t positions = 2 * static_cast<uint64_t>(augmentation.padding) + 1;
  const int shift_y = static_cast<int>(random.below(positions)) - augmentation.padding;
  const int shift_x = static_cast<int>(random.below(positions)) - augmentation.padding;
  AugmentationDraw draw;
  draw.flip = augmentation.flip && flip;
  if (augmentation.crop) {
    draw.shift_y = shift_y;
    draw.shift_x = shift_x;
  }
  return draw;
}

}  // namespace vitsweep::data
