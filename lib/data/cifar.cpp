#include "data/cifar.hpp"

#include <filesystem>

#include "common/error.hpp"
#include "data/files.hpp"

namespace vitsweep::data {
namespace {

struct CifarLayout {
  std::string_view archive;     // what the user downloads
  std::string_view unpacks_to;  // the directory the archive holds
  std::vector<std::string> train_files, test_files;
  int label_bytes;
};

CifarLayout cifar_layout(std::string_view dataset) {
  if (dataset == "cifar10") {
    return {"cifar-10-binary.tar.gz",
            "cifar-10-batches-bin",
            {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
             "data_batch_5.bin"},
            {"test_batch.bin"},
            1};
  }
  if (dataset == "cifar100") {
    return {"cifar-100-binary.tar.gz", "cifar-100-binary", {"train.bin"}, {"test.bin"}, 2};
  }
  fail("{} is not a CIFAR data set (expected cifar10 or cifar100)", dataset);
}

[[noreturn]] void fail_not_found(std::string_view dataset, const std::string& dir,
                                 const CifarLayout& layout, std::string_view what_is_missing) {
  fail(
      "{} not found in {}: {}; download {} from https://www.cs.toronto.edu/~kriz/cifar.html and "
      "unpack it (it holds {}/), or set data_dir",
      dataset, dir, what_is_missing, layout.archive, layout.unpacks_to);
}

RawSplit read_split(std::string_view dataset, const std::string& dir, const CifarLayout& layout,
                    const std::vector<std::string>& names, const ImageSpec& image,
                    std::vector<std::string>& files) {
  RawSplit split;
  for (const std::string& name : names) {
    const std::string path = (std::filesystem::path(dir) / name).string();
    if (!std::filesystem::is_regular_file(path)) fail_not_found(dataset, dir, layout, "no " + name);
    CifarRecords records = parse_cifar(read_data_file(path), path, layout.label_bytes,
                                       static_cast<int>(image.classes));
    split.count += records.count;
    split.pixels.insert(split.pixels.end(), records.images.begin(), records.images.end());
    split.labels.insert(split.labels.end(), records.labels.begin(), records.labels.end());
    files.push_back(path);
  }
  return split;
}

}  // namespace

CifarRecords parse_cifar(std::span<const uint8_t> bytes, std::string_view name, int label_bytes,
                         int classes) {
  if (label_bytes != 1 && label_bytes != 2) {
    fail("{}: CIFAR records have 1 or 2 label bytes, not {}", name, label_bytes);
  }
  const size_t record_bytes = static_cast<size_t>(label_bytes + kCifarPixelBytes);
  const std::string_view labels_text = label_bytes == 1 ? "1 label byte" : "2 label bytes";
  if (bytes.empty()) {
    fail("{}: empty file: expected records of {} bytes ({} + {} pixel bytes)", name, record_bytes,
         labels_text, kCifarPixelBytes);
  }
  if (bytes.size() % record_bytes != 0) {
    fail(
        "{}: {} bytes is not a whole number of {}-byte records ({} + {} pixel bytes): found {} "
        "records and {} bytes over",
        name, bytes.size(), record_bytes, labels_text, kCifarPixelBytes,
        bytes.size() / record_bytes, bytes.size() % record_bytes);
  }
  CifarRecords records;
  records.count = static_cast<int64_t>(bytes.size() / record_bytes);
  records.images.resize(static_cast<size_t>(records.count * kCifarPixelBytes));
  records.labels.resize(static_cast<size_t>(records.count));
  for (size_t r = 0; r < records.labels.size(); ++r) {
    const uint8_t* record = bytes.data() + r * record_bytes;
    // CIFAR-100 records are (coarse, fine): the fine label is the last label byte.
    records.labels[r] = record[label_bytes - 1];
    std::copy(record + label_bytes, record + record_bytes,
              records.images.begin() + static_cast<std::ptrdiff_t>(r * kCifarPixelBytes));
  }
  check_label_range(records.labels, classes, name, label_bytes == 1 ? "label" : "fine label");
  return records;
}

RawDataset load_cifar_dataset(std::string_view dataset, const std::string& dir,
                              const ImageSpec& image) {
  const CifarLayout layout = cifar_layout(dataset);
  if (image.channels * image.height * image.width != kCifarPixelBytes) {
    fail("{}: expected 3x32x32 images, the configuration says {}x{}x{}", dataset, image.channels,
         image.height, image.width);
  }
  if (!std::filesystem::is_directory(dir))
    fail_not_found(dataset, dir, layout, "no such directory");
  RawDataset raw;
  raw.train = read_split(dataset, dir, layout, layout.train_files, image, raw.files);
  raw.test = read_split(dataset, dir, layout, layout.test_files, image, raw.files);
  return raw;
}

}  // namespace vitsweep::data
