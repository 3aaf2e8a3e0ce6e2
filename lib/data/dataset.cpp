#include "data/dataset.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "common/error.hpp"
#include "common/huge_pages.hpp"
#include "common/text.hpp"
#include "data/cifar.hpp"
#include "data/idx_dataset.hpp"
#include "data/random.hpp"
#include "data/synthetic.hpp"
#include "parallel/loops.hpp"

namespace vitsweep::data {
namespace {

RawDataset load_raw(const TrialConfig& config, const ImageSpec& image) {
  const std::string default_dir = default_data_dir(config.dataset);  // rejects unknown names too
  if (config.dataset == "synthetic") {
    return make_synthetic({.size = config.synthetic_size,
                           .channels = config.synthetic_channels,
                           .classes = config.synthetic_classes,
                           .train = config.synthetic_train,
                           .test = config.synthetic_test,
                           .seed = static_cast<uint64_t>(config.seed)});
  }
  const std::string dir = config.data_dir.empty() ? default_dir : config.data_dir;
  if (config.dataset == "cifar10" || config.dataset == "cifar100") {
    return load_cifar_dataset(config.dataset, dir, image);
  }
  return load_idx_dataset(config.dataset, dir, image);
}

// Which training-file images end up in train and in val, each in file order.
struct TrainSelection {
  std::vector<uint32_t> train, val;
};

TrainSelection select_training_images(int64_t available, const TrialConfig& config) {
  const auto seed = static_cast<uint64_t>(config.seed);
  TrainSelection selection;
  const auto val_count = static_cast<int64_t>(std::llround(available * config.val_fraction));
  if (val_count > 0) {
    const std::vector<uint32_t> order =
        random_permutation(available, random_key(RandomStream::kValidationSplit, {seed}));
    selection.train.assign(order.begin(), order.end() - val_count);
    selection.val.assign(order.end() - val_count, order.end());
  } else {
    selection.train = identity_permutation(available);
  }

  const auto remaining = static_cast<int64_t>(selection.train.size());
  if (config.train_subset > remaining) {
    const std::string after_val =
        val_count == 0 ? ""
                       : fmt::format(" left after holding out {} for validation (val_fraction {})",
                                     val_count, format_number(config.val_fraction));
    fail_usage("train_subset {} is more than the {} training images of {}{}", config.train_subset,
               remaining, config.dataset, after_val);
  }
  if (config.train_subset > 0 && config.train_subset < remaining) {
    const std::vector<uint32_t> order =
        random_permutation(remaining, random_key(RandomStream::kTrainSubset, {seed}));
    std::vector<uint32_t> kept;
    kept.reserve(static_cast<size_t>(config.train_subset));
    for (int64_t i = 0; i < config.train_subset; ++i) kept.push_back(selection.train[order[i]]);
    selection.train = std::move(kept);
  }
  std::sort(selection.train.begin(), selection.train.end());
  std::sort(selection.val.begin(), selection.val.end());
  return selection;
}

// The chosen raw images, with the floats their bytes stand for.
Split select_split(const RawSplit& raw, std::span<const uint32_t> indices, const ImageSpec& image,
                   const Normalization& norm) {
  const auto image_bytes = static_cast<size_t>(image.channels * image.height * image.width);
  Split split;
  split.count = static_cast<int64_t>(indices.size());
  split.normalised = pixel_values(norm);
  reserve_in_huge_pages(split.pixels, indices.size() * image_bytes);
  split.pixels.resize(indices.size() * image_bytes);
  split.labels.resize(indices.size());
  parallel_indices(indices.size(), [&](size_t i) {
    const size_t source = indices[i];
    split.labels[i] = raw.labels[source];
    std::copy_n(raw.pixels.data() + source * image_bytes, image_bytes,
                split.pixels.data() + i * image_bytes);
  });
  return split;
}

}  // namespace

std::vector<float> normalised_images(const Split& split) {
  const size_t channels = split.normalised.size();
  const size_t images_and_channels = static_cast<size_t>(split.count) * channels;
  const size_t plane = images_and_channels == 0 ? 0 : split.pixels.size() / images_and_channels;
  std::vector<float> images(split.pixels.size());
  for (size_t k = 0; k < images.size(); ++k) {
    images[k] = split.normalised[k / plane % channels][split.pixels[k]];
  }
  return images;
}

std::string default_data_dir(const std::string& dataset) {
  if (dataset == "fashion-mnist") return "/usr/share/datasets/fashion-mnist";
  if (dataset == "mnist") return "/usr/share/datasets/mnist";
  if (dataset == "cifar10") return "/usr/share/datasets/cifar-10-batches-bin";
  if (dataset == "cifar100") return "/usr/share/datasets/cifar-100-binary";
  if (dataset == "synthetic") return "";
  const std::vector<std::string> known = {"fashion-mnist", "mnist", "cifar10", "cifar100",
                                          "synthetic"};
  fail_usage("unknown dataset '{}': expected one of {}{}", dataset, join(known),
             did_you_mean(dataset, known));
}

Dataset load_dataset(const TrialConfig& config) {
  const auto start = std::chrono::steady_clock::now();
  Dataset dataset;
  dataset.name = config.dataset;
  dataset.image = image_spec(config);
  RawDataset raw = load_raw(config, dataset.image);
  dataset.files = std::move(raw.files);
  dataset.norm = compute_normalization(raw.train, dataset.image);

  const TrainSelection selection = select_training_images(raw.train.count, config);
  dataset.train = select_split(raw.train, selection.train, dataset.image, dataset.norm);
  dataset.val = select_split(raw.train, selection.val, dataset.image, dataset.norm);
  dataset.test =
      select_split(raw.test, identity_permutation(raw.test.count), dataset.image, dataset.norm);

  dataset.load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return dataset;
}

}  // namespace vitsweep::data
