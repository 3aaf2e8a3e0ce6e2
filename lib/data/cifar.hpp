// The CIFAR binary versions (https://www.cs.toronto.edu/~kriz/cifar.html): fixed-size records of
// label byte(s) then 3072 pixel bytes, the red, green and blue 32x32 planes in turn.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/trial_config.hpp"
#include "data/raw_dataset.hpp"

namespace vitsweep::data {

constexpr int64_t kCifarPixelBytes = 3 * 32 * 32;

struct CifarRecords {
  std::vector<uint8_t> images;  // count * 3 * 32 * 32, NCHW
  std::vector<int32_t> labels;  // count
  int64_t count = 0;
};

// label_bytes: 1 for CIFAR-10; 2 for CIFAR-100, whose records hold (coarse, fine) and whose fine
// label is the one returned. A size that is not a whole number of records, or a label outside
// 0..classes-1, is an Error naming `name`, what was expected and what was found.
CifarRecords parse_cifar(std::span<const uint8_t> bytes, std::string_view name, int label_bytes,
                         int classes);

// CIFAR-10 (data_batch_1..5.bin, test_batch.bin) or CIFAR-100 (train.bin, test.bin) from `dir`,
// as named by `dataset` ("cifar10" or "cifar100"). Files may also be gzipped.
RawDataset load_cifar_dataset(std::string_view dataset, const std::string& dir,
                              const ImageSpec& image);

}  // namespace vitsweep::data
