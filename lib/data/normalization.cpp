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
  // Each block counts into kLanes histograms, pixel p into lane p % kLanes: runs of one value
  // (the zero background of Fashion-MNIST) would otherwise make every increment wait for the
  // last one's store to the same counter (one histogram: 0.1 s of a trial's load, measured).
  constexpr size_t kLanes = 4;
  std::vector<Histogram> block_counts(static_cast<size_t>(blocks), Histogram(channels * 256, 0));
  parallel_indices(blocks, [&](int64_t block) {
    std::vector<uint64_t> lanes(kLanes * 256);
    uint64_t* counts = block_counts[static_cast<size_t>(block)].data();
    const auto end = static_cast<size_t>(std::min(split.count, (block + 1) * kBlock));
    for (size_t c = 0; c < channels; ++c) {
      std::fill(lanes.begin(), lanes.end(), 0);
      for (auto i = static_cast<size_t>(block * kBlock); i < end; ++i) {
        const uint8_t* pixels = split.pixels.data() + (i * channels + c) * plane;
        size_t p = 0;
        for (; p + kLanes <= plane; p += kLanes) {
          for (size_t lane = 0; lane < kLanes; ++lane) ++lanes[lane * 256 + pixels[p + lane]];
        }
        for (; p < plane; ++p) ++lanes[pixels[p]];
      }
      for (size_t lane = 0; lane < kLanes; ++lane) {
        for (size_t v = 0; v < 256; ++v) counts[c * 256 + v] += lanes[lane * 256 + v];
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

std::vector<PixelValues> pixel_values(const Normalization& norm) {
  std::vector<PixelValues> values(norm.mean.size());
  for (size_t c = 0; c < values.size(); ++c) {
    for (int v = 0; v < 256; ++v) {
      values[c][static_cast<size_t>(v)] =
          normalize_pixel(static_cast<uint8_t>(v), norm.mean[c], norm.std[c]);
    }
  }
  return values;
}

}  // namespace vitsweep::data
