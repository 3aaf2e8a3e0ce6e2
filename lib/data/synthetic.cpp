#include "data/synthetic.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "data/random.hpp"
#include "parallel/loops.hpp"

namespace vitsweep::data {
namespace {

// Coarse grid the prototypes are interpolated from: a few blobs per side keeps them smooth,
// so a shift of a few pixels leaves an image recognisable.
constexpr int64_t kPrototypeGrid = 4;
// Per-image variation, in [0, 1] pixel units. Tuned so that the nearest class mean labels ~75% of
// 16x16 test images right and softmax regression ~90% after 300 steps: learnable, not trivial.
constexpr double kNoiseStd = 0.25;  // per pixel; an Irwin-Hall sum, so no libm call can differ
constexpr double kContrastLow = 0.5, kContrastHigh = 1.5;  // scales the pattern around 0.5
constexpr double kBrightness = 0.15;                       // uniform offset in [-0.15, 0.15]

int64_t clamp_index(int64_t i, int64_t n) { return std::clamp<int64_t>(i, 0, n - 1); }

// One prototype per (class, channel): random values on a coarse grid, bilinearly upsampled.
std::vector<double> make_prototypes(const SyntheticSpec& spec) {
  const int64_t size = spec.size, grid = std::min(spec.size, kPrototypeGrid);
  const int64_t plane = size * size;
  std::vector<double> prototypes(static_cast<size_t>(spec.classes * spec.channels * plane));
  std::vector<double> coarse(static_cast<size_t>(grid * grid));
  for (int64_t k = 0; k < spec.classes * spec.channels; ++k) {
    Random random(
        random_key(RandomStream::kSyntheticPrototype, {spec.seed, static_cast<uint64_t>(k)}));
    // Keep away from 0 and 1 so noise and clipping do not erase the pattern.
    for (double& v : coarse) v = 0.1 + 0.8 * random.uniform();
    double* out = prototypes.data() + k * plane;
    for (int64_t y = 0; y < size; ++y) {
      for (int64_t x = 0; x < size; ++x) {
        // Pixel centres mapped onto the coarse grid's centres.
        const double gy = std::clamp((y + 0.5) * grid / size - 0.5, 0.0, grid - 1.0);
        const double gx = std::clamp((x + 0.5) * grid / size - 0.5, 0.0, grid - 1.0);
        const auto y0 = static_cast<int64_t>(gy), x0 = static_cast<int64_t>(gx);
        const int64_t y1 = std::min(y0 + 1, grid - 1), x1 = std::min(x0 + 1, grid - 1);
        const double fy = gy - y0, fx = gx - x0;
        auto at = [&](int64_t r, int64_t c) { return coarse[static_cast<size_t>(r * grid + c)]; };
        out[y * size + x] = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) +
                            fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
      }
    }
  }
  return prototypes;
}

RawSplit make_split(const SyntheticSpec& spec, const std::vector<double>& prototypes, int64_t count,
                    uint64_t split_id) {
  const int64_t size = spec.size, plane = size * size, image_pixels = spec.channels * plane;
  // Up to a fifth of the side (3 pixels at 16): shifts are why a model must do better than a
  // template.
  const int64_t max_shift = std::max<int64_t>(1, size / 5);
  RawSplit split;
  split.count = count;
  split.pixels.resize(static_cast<size_t>(count * image_pixels));
  split.labels.resize(static_cast<size_t>(count));
  // Each image draws from its own key, so the split is the same however the loop is divided.
  parallel_indices(count, [&](int64_t i) {
    Random random(
        random_key(RandomStream::kSyntheticImage, {spec.seed, split_id, static_cast<uint64_t>(i)}));
    const int64_t label = i % spec.classes;
    const int64_t shift_y = static_cast<int64_t>(random.below(2 * max_shift + 1)) - max_shift;
    const int64_t shift_x = static_cast<int64_t>(random.below(2 * max_shift + 1)) - max_shift;
    const double contrast = kContrastLow + (kContrastHigh - kContrastLow) * random.uniform();
    const double brightness = kBrightness * (2 * random.uniform() - 1);
    split.labels[static_cast<size_t>(i)] = static_cast<int32_t>(label);
    uint8_t* out = split.pixels.data() + i * image_pixels;
    for (int64_t c = 0; c < spec.channels; ++c) {
      const double* prototype = prototypes.data() + (label * spec.channels + c) * plane;
      for (int64_t y = 0; y < size; ++y) {
        for (int64_t x = 0; x < size; ++x) {
          const double base =
              prototype[clamp_index(y - shift_y, size) * size + clamp_index(x - shift_x, size)];
          // Sum of 3 uniforms has variance 3/12 = 1/4: scale by 2*std for the wanted noise.
          const double noise =
              (random.uniform() + random.uniform() + random.uniform() - 1.5) * 2 * kNoiseStd;
          const double value =
              std::clamp(0.5 + contrast * (base - 0.5) + brightness + noise, 0.0, 1.0);
          out[(c * size + y) * size + x] = static_cast<uint8_t>(std::lround(value * 255));
        }
      }
    }
  });
  return split;
}

}  // namespace

RawDataset make_synthetic(const SyntheticSpec& spec) {
  if (spec.size < 1 || spec.channels < 1 || spec.classes < 1 || spec.train < 1 || spec.test < 1) {
    fail(
        "synthetic data set: size {}, channels {}, classes {}, train {}, test {}: expected all "
        ">= 1",
        spec.size, spec.channels, spec.classes, spec.train, spec.test);
  }
  const std::vector<double> prototypes = make_prototypes(spec);
  RawDataset raw;
  raw.train = make_split(spec, prototypes, spec.train, 0);
  raw.test = make_split(spec, prototypes, spec.test, 1);
  return raw;
}

}  // namespace vitsweep::data
