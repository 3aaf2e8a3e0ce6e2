#pragma once

#include <algorithm>
#include <cstddef>
#include <vector>

namespace vitsweep {

// The middle value (of an even count, the upper of the two middle ones); values must not be empty.
inline double median(std::vector<double> values) {
  const auto mid = values.begin() + static_cast<std::ptrdiff_t>(values.size() / 2);
  std::nth_element(values.begin(), mid, values.end());
  return *mid;
}

}  // namespace vitsweep
