// A synthetic data set for quick experiments and tests without files: each class has a smooth
// random prototype image, and each image is its class's prototype shifted by a few pixels, with
// random contrast, brightness and noise, quantised to bytes like real pixels. Easy enough that a
// small model learns it well above chance within a few hundred steps, hard enough that it does
// not reach 100% at once.
#pragma once

#include <cstdint>

#include "data/raw_dataset.hpp"

namespace vitsweep::data {

struct SyntheticSpec {
  int64_t size = 16;  // image side in pixels
  int64_t channels = 1;
  int64_t classes = 10;
  int64_t train = 2048;  // images
  int64_t test = 512;
  uint64_t seed = 0;
};

// Deterministic in the spec: the same bytes on any machine and thread count. Labels are
// balanced (image i has class i mod classes).
RawDataset make_synthetic(const SyntheticSpec& spec);

}  // namespace vitsweep::data
