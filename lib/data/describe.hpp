// What `sweep data info` shows about a loaded data set.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/json.hpp"
#include "data/dataset.hpp"

namespace vitsweep::data {

// Images per class, classes entries.
std::vector<int64_t> class_counts(const Split& split, int64_t classes);

// {"dataset", "image": {channels, height, width}, "classes",
//  "splits": {"train"|"val"|"test": {"count", "class_counts": [...]}},
//  "normalization": {"mean": [...], "std": [...]}, "load_seconds", "files": [...]}
OrderedJson describe_dataset(const Dataset& dataset);

// A few aligned lines for people:
//   dataset    fashion-mnist: 1x28x28 images (CxHxW), 10 classes
//   train      60000 images, 6000 per class
//   val        0 images
//   test       10000 images, 1000 per class
//   mean       0.2860
//   std        0.3530
//   load time  0.31s
//   files      /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
//              ...
std::string format_dataset_info(const Dataset& dataset);

}  // namespace vitsweep::data
