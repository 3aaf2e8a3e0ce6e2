// Pixels and labels as the files hold them, before normalisation and splitting: what every
// format's reader (IDX, CIFAR, synthetic) produces and what load_dataset turns into a Dataset.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vitsweep::data {

struct RawSplit {
  int64_t count = 0;
  std::vector<uint8_t> pixels;  // count * C * H * W, NCHW
  std::vector<int32_t> labels;  // count
};

struct RawDataset {
  RawSplit train, test;
  std::vector<std::string> files;  // in the order they were read
};

// Error naming `file`, the label and its index when a label is not in 0..classes-1.
// `what` is "label" or e.g. "fine label".
void check_label_range(std::span<const int32_t> labels, int64_t classes, std::string_view file,
                       std::string_view what = "label");

}  // namespace vitsweep::data
