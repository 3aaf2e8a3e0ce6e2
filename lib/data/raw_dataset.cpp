#include "data/raw_dataset.hpp"

#include "common/error.hpp"

namespace vitsweep::data {

void check_label_range(std::span<const int32_t> labels, int64_t classes, std::string_view file,
                       std::string_view what) {
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= classes) {
      fail("{}: {} {} at index {} is out of range (expected 0..{})", file, what, labels[i], i,
           classes - 1);
    }
  }
}

}  // namespace vitsweep::data
