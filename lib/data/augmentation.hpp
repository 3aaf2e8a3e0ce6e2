// Training augmentation: random crop of the zero-padded image and random horizontal flip, drawn
// per image from (seed, epoch, the image's index in its split).
#pragma once

#include <cstdint>
#include <vector>

#include "config/trial_config.hpp"
#include "data/normalization.hpp"

namespace vitsweep::data {

struct Augmentation {
  bool crop = false;
  bool flip = false;
  int padding = 0;               // pixels added on every side before cropping
  std::vector<float> pad_value;  // per channel: the normalised value of a black (raw 0) pixel
};

// From the keys augment ("none", "crop", "flip", "crop+flip") and crop_padding.
Augmentation augmentation_for(const TrialConfig& config, const Normalization& norm);

// What one image gets. Output pixel (y, x) comes from source pixel (y + shift_y, x' + shift_x),
// where x' = width-1-x when flipped and x otherwise; sources outside the image are padding.
struct AugmentationDraw {
  bool flip = false;
  int shift_y = 0, shift_x = 0;  // in [-padding, padding]; 0 without crop
};

// A pure function of its arguments: the same image gets the same draw whatever batch it is in.
AugmentationDraw draw_augmentation(const Augmentation& augmentation, uint64_t seed, int64_t epoch,
                                   uint32_t index);

}  // namespace vitsweep::data
