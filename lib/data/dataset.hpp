// A data set in memory, ready for training: normalised float images split into train, validation
// and test. load_dataset is the one entry point; the format readers behind it are in idx.hpp,
// cifar.hpp and synthetic.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/trial_config.hpp"
#include "data/normalization.hpp"

namespace vitsweep::data {

// One split in memory: its images as the files hold them, a byte a pixel, and per channel the
// normalised float each byte stands for; gather_batch makes a batch's floats. Bytes, not floats:
// a quarter of the memory, and fresh memory is slow to touch in a VM (a trial's floats of
// 20,000 + 10,000 Fashion-MNIST images were 94 MB, most of its load time).
struct Split {
  int64_t count = 0;
  std::vector<uint8_t> pixels;          // count * C * H * W, NCHW, as read
  std::vector<int32_t> labels;          // count, in 0..classes-1
  std::vector<PixelValues> normalised;  // per channel: byte -> normalised float
};

// Every image of the split as floats (NCHW): what gather_batch gives without augmentation.
std::vector<float> normalised_images(const Split& split);

struct Dataset {
  std::string name;  // config.dataset
  ImageSpec image;
  Split train, val, test;  // val is empty unless val_fraction > 0
  Normalization norm;
  std::vector<std::string> files;  // files read (empty for synthetic)
  double load_seconds = 0;
};

// Where each data set is looked for when data_dir is not set:
//   fashion-mnist  /usr/share/datasets/fashion-mnist         (apt-get install
//   dataset-fashion-mnist) mnist          /usr/share/datasets/mnist                 (no package;
//   copy the IDX files there) cifar10        /usr/share/datasets/cifar-10-batches-bin
//   (cifar-10-binary.tar.gz unpacks to it) cifar100       /usr/share/datasets/cifar-100-binary
//   (cifar-100-binary.tar.gz unpacks to it) synthetic      "" (generated, no files)
// An unknown name is a UsageError.
std::string default_data_dir(const std::string& dataset);

// Loads config.dataset from config.data_dir (or its default directory), or generates the
// synthetic set from the synthetic_* keys and the seed. Then:
//  - normalisation constants from the whole training file, before anything is held out;
//  - val_fraction: the last round(n * val_fraction) images of a seeded permutation go to val;
//  - train_subset (0: all): the first train_subset of a seeded permutation of what is left.
// Both keep the file order within each split. Missing or corrupt files are Errors; a
// train_subset larger than the training images available is a UsageError.
Dataset load_dataset(const TrialConfig& config);

}  // namespace vitsweep::data
