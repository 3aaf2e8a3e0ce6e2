// Per-channel standardisation of pixels, with the constants taken from the data set itself.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "config/trial_config.hpp"
#include "data/raw_dataset.hpp"

namespace vitsweep::data {

// Per channel, of the raw pixels scaled to [0, 1].
struct Normalization {
  std::vector<float> mean, std;
};

// Mean and population standard deviation per channel over every image of `split`. Exact integer
// histograms underneath, so the result does not depend on the thread count.
Normalization compute_normalization(const RawSplit& split, const ImageSpec& image);

// (pixel/255 - mean) / std, the one formula for stored images and augmentation padding alike.
inline float normalize_pixel(uint8_t pixel, float mean, float std) {
  return static_cast<float>((pixel / 255.0 - mean) / std);
}

// normalize_pixel of each of the 256 byte values, for one channel.
using PixelValues = std::array<float, 256>;

// Per channel of `norm`, its PixelValues.
std::vector<PixelValues> pixel_values(const Normalization& norm);

}  // namespace vitsweep::data
