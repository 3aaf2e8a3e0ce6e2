// MNIST and Fashion-MNIST: four IDX files (train/t10k images and labels), gzipped or raw.
#pragma once

#include <string>
#include <string_view>

#include "config/trial_config.hpp"
#include "data/raw_dataset.hpp"

namespace vitsweep::data {

// Reads train-images-idx3-ubyte(.gz), train-labels-idx1-ubyte(.gz), t10k-images-idx3-ubyte(.gz)
// and t10k-labels-idx1-ubyte(.gz) from `dir`, checking shapes against `image` and label range.
// A missing directory or file says how to get the data set (`dataset` is its config name).
RawDataset load_idx_dataset(std::string_view dataset, const std::string& dir,
                            const ImageSpec& image);

}  // namespace vitsweep::data
