// Central finite differences for checking hand-written backward functions in float32.
//
// Tolerances: the engine computes in float32, so a difference quotient with step eps carries
// rounding noise of about 1e-7 * |loss| / eps (~1e-4 here for eps = 3e-3 and O(1) losses) and a
// truncation error of eps^2 |f'''| / 6 (~1e-5). A gradient entry passes when
// |fd - analytic| <= atol + rtol * |analytic| with atol = 5e-4 and rtol = 2e-2: tight enough that
// a missing term, a wrong sign or a wrong scale (all O(|g|)) fails, loose enough for the noise.
// The exact check is the PyTorch twin's fixtures (test_twin_fixtures.cpp).
//
// relu and relu6 have kinks: a step that moves an attention score across 0 (or 6) measures a
// different slope on each side. An optional `kinks` function returns the pattern of which side of
// every kink each score lies; when the pattern at +eps or -eps differs from the one at 0, the
// step is quartered (up to 4 times) so the difference quotient stays on one smooth piece.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "common/random.hpp"

namespace vitsweep::testing {

struct FdTolerance {
  double eps = 3e-3;
  double atol = 5e-4;
  double rtol = 2e-2;
};

// Checks analytic[i] == d loss / d values[i] for `samples` random indices plus the index of the
// largest |analytic| (all indices when n <= samples). values is restored afterwards.
using KinkPattern = std::function<std::vector<bool>()>;

inline void expect_gradient_matches(const std::string& what, float* values, const float* analytic,
                                    int64_t n, const std::function<double()>& loss, int samples,
                                    uint64_t seed, FdTolerance tol = {},
                                    const KinkPattern& kinks = nullptr) {
  std::vector<int64_t> indices;
  if (n <= samples) {
    for (int64_t i = 0; i < n; ++i) indices.push_back(i);
  } else {
    Random random(seed);
    for (int s = 0; s < samples; ++s) indices.push_back(static_cast<int64_t>(random.below(n)));
    indices.push_back(std::max_element(analytic, analytic + n,
                                       [](float a, float b) { return std::abs(a) < std::abs(b); }) -
                      analytic);
  }
  for (int64_t i : indices) {
    const float saved = values[i];
    std::vector<bool> pattern;
    if (kinks) {
      loss();
      pattern = kinks();
    }
    double eps = tol.eps, up = 0, down = 0;
    for (int attempt = 0; attempt < 5; ++attempt, eps /= 4) {
      values[i] = static_cast<float>(saved + eps);
      up = loss();
      const bool up_smooth = !kinks || kinks() == pattern;
      values[i] = static_cast<float>(saved - eps);
      down = loss();
      const bool down_smooth = !kinks || kinks() == pattern;
      if (up_smooth && down_smooth) break;
    }
    values[i] = saved;
    const double fd = (up - down) / (2 * eps);
    // A smaller step has proportionally more rounding noise.
    const double noise_allowance = tol.atol * (tol.eps / eps);
    EXPECT_NEAR(analytic[i], fd, noise_allowance + tol.rtol * std::abs(analytic[i]))
        << what << "[" << i << "]";
  }
}

// Fills with N(0, scale^2) from a seed.
inline void fill_normal(float* x, int64_t n, double scale, uint64_t seed) {
  Random random(seed);
  for (int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(scale * random.normal());
}

// sum_i r_i y_i in double: a loss whose gradient with respect to y is r.
inline double probe_loss(const float* y, const float* r, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(y[i]) * r[i];
  return sum;
}

// Which side of each kink of h every score lies on (empty for smooth h).
inline std::vector<bool> kink_pattern(const std::string& attn, const float* scores, int64_t n) {
  std::vector<bool> pattern;
  if (attn != "relu" && attn != "relu6") return pattern;
  for (int64_t i = 0; i < n; ++i) {
    pattern.push_back(scores[i] > 0);
    if (attn == "relu6") pattern.push_back(scores[i] < 6);
  }
  return pattern;
}

}  // namespace vitsweep::testing
