#include "data/idx_dataset.hpp"

#include <array>
#include <exception>
#include <filesystem>

#include "common/error.hpp"
#include "data/idx.hpp"
#include "parallel/loops.hpp"

namespace vitsweep::data {
namespace {

std::string how_to_get(std::string_view dataset) {
  if (dataset == "fashion-mnist") {
    return "install it with `apt-get install dataset-fashion-mnist` or set data_dir";
  }
  return fmt::format(
      "{} has no Debian package: put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
      "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (gzipped or not) there, or set "
      "data_dir",
      dataset);
}

// The .gz name first, as the data sets are distributed; the raw name if someone unpacked them.
std::string find_file(std::string_view dataset, const std::string& dir, const std::string& base) {
  for (const std::string& name : {base + ".gz", base}) {
    const std::filesystem::path path = std::filesystem::path(dir) / name;
    if (std::filesystem::is_regular_file(path)) return path.string();
  }
  fail("{} not found in {}: neither {}.gz nor {} is there; {}", dataset, dir, base, base,
       how_to_get(dataset));
}

RawSplit make_split(IdxArray images, const std::string& images_path, const IdxArray& labels,
                    const std::string& labels_path, const ImageSpec& image) {
  if (images.dims.size() != 3) {
    fail("{}: expected 3 dims (images x {} x {}), found {} dims ({})", images_path, image.height,
         image.width, images.dims.size(), format_dims(images.dims));
  }
  if (images.dims[1] != image.height || images.dims[2] != image.width) {
    fail("{}: expected {}x{} images, found {}x{}", images_path, image.height, image.width,
         images.dims[1], images.dims[2]);
  }
  if (labels.dims.size() != 1) {
    fail("{}: expected 1 dim (labels), found {} dims ({})", labels_path, labels.dims.size(),
         format_dims(labels.dims));
  }
  if (labels.dims[0] != images.dims[0]) {
    fail("{}: expected {} labels, one per image in {}, found {}", labels_path, images.dims[0],
         images_path, labels.dims[0]);
  }
  RawSplit split;
  split.count = images.dims[0];
  split.pixels = std::move(images.data);
  split.labels.assign(labels.data.begin(), labels.data.end());
  check_label_range(split.labels, image.classes, labels_path);
  return split;
}

}  // namespace

RawDataset load_idx_dataset(std::string_view dataset, const std::string& dir,
                            const ImageSpec& image) {
  if (!std::filesystem::is_directory(dir)) {
    fail("{} not found in {}: {}", dataset, dir, how_to_get(dataset));
  }
  RawDataset raw;
  raw.files = {find_file(dataset, dir, "train-images-idx3-ubyte"),
               find_file(dataset, dir, "train-labels-idx1-ubyte"),
               find_file(dataset, dir, "t10k-images-idx3-ubyte"),
               find_file(dataset, dir, "t10k-labels-idx1-ubyte")};
  // Inflating the image files dominates loading, and the files are independent. Errors are kept
  // per file and the first in file order rethrown, so a bad data set always reads the same.
  std::array<IdxArray, 4> arrays;
  std::array<std::exception_ptr, 4> errors;
  parallel_indices(arrays.size(), [&](size_t i) {
    try {
      arrays[i] = read_idx_file(raw.files[i]);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  });
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
  raw.train = make_split(std::move(arrays[0]), raw.files[0], arrays[1], raw.files[1], image);
  raw.test = make_split(std::move(arrays[2]), raw.files[2], arrays[3], raw.files[3], image);
  return raw;
}

}  // namespace vitsweep::data
