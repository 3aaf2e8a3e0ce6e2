#include "data/normalization.hpp"

#include <algorithm>
#include <cmath>

#include "parallel/loops.hpp"

namespace vitsweep::data {

Normalization compute_normalization(const RawSplit& split, const ImageSpec& image) {
  const auto channels = static_cast<size_t>(image.channels);
  const auto plane = static_cast<size_t>(image.height * image.width);
  using Histogram = std::vector<uint64_t>;  // channels x 256 pixel values
  // Blocks of images counted side by side, then added up.
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (split.count + kBlock - 1) / kBlock;
  std::vector<Histogram> block_counts(static_cast<size_t>(blocks), Histogram(channels * 256, 0));
  parallel_indices(blocks, [&](int64_t block) {
    uint64_t* counts = block_counts[static_cast<size_t>(block)].data();
    const auto end = static_cast<size_t>(std::min(split.count, (block + 1) * kBlock));
    for (auto i = static_cast<size_t>(block * kBlock); i < end; ++i) {
      for (size_t c = 0; c < channels; ++c) {
        const uint8_t* pixels = split.pixels.data() + (i * channels + c) * plane;
        uint64_t* channel_counts = counts + c * 256;
        for (size_t p = 0; p < plane; ++p) ++channel_counts[pixels[p]];
      }
    }
  });
  Histogram histogram(channels * 256, 0);
  for (const Histogram& counts : block_counts) {
    for (size_t k = 0; k < histogram.size(); ++k) histogram[k] += counts[k];
  }

  Normalization norm;
  for (size_t c = 0; c < channels; ++c) {
    const uint64_t* counts = histogram.data() + c * 256;
    double total = 0, sum = 0;
    for (int v = 0; v < 256; ++v) {
      total += static_cast<double>(counts[v]);
      sum += static_cast<double>(counts[v]) * (v / 255.0);
    }
    const double mean = total > 0 ? sum / total : 0.0;
    double squares = 0;
    for (int v = 0; v < 256; ++v) {
      const double d = v / 255.0 - mean;
      squares += static_cast<double>(counts[v]) * d * d;
    }
    const double std = total > 0 ? std::sqrt(squares / total) : 0.0;
    norm.mean.push_back(static_cast<float>(mean));
    // A constant channel has nothing to scale; 1 keeps the images finite instead of dividing by 0.
    norm.std.push_back(std > 1e-6 ? static_cast<float>(std) : 1.0f);
  }
  return norm;
}

}  // namespace vitsweep::data
