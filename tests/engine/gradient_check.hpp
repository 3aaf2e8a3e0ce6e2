// Finite-difference checks of hand-written backward functions, in float32.
//
// The engine computes in float32, so the loss carries rounding noise of ~1e-7 of its scale, and a
// difference quotient divides that by the step: for a layer with many outputs the noise can reach
// a few percent of a gradient entry, while a large step adds truncation error. So each coordinate
// is measured, not guessed: the loss is evaluated at 8 symmetric steps t = +-eps {1, 3/4, 1/2,
// 1/4}, a cubic a + b t + c t^2 + d t^3 is fitted by least squares, and its slope b is the
// derivative (truncation error O(eps^4)), with standard error se(b) from the fit's residuals.
// A coordinate passes when
//     |analytic - b| <= atol + rtol |analytic| + 1% of scale + 3 se(b),
// where `scale` is the typical gradient size of the test (RMS over its gradients). The 1% floor
// covers coordinates whose true gradient is 0 (softmax's key biases: a row shift changes nothing),
// where the loss's float32 quantisation leaves a small correlated slope the fit cannot see as
// noise. A wrong gradient (missing term, wrong sign or scale) is off by far more than that. To keep
// the check from going vacuous, at most a quarter of a tensor's coordinates may have 3 se(b) above
// 10% of max(|analytic|, scale), where `scale` is the typical gradient size of the test.
// The exact comparison is against the float64 PyTorch twin (twin_fixtures_test.cpp).
//
// relu and relu6 have kinks: a step that moves an attention score across 0 (or 6) measures a
// different slope on each side. An optional `kinks` function returns the pattern of which side of
// every kink each score lies; when the pattern at +-eps differs from the one at 0, the step is
// quartered (up to 4 times) so every evaluation stays on one smooth piece.
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
  double atol = 1e-5;
  double rtol = 1e-2;
  double scale = 0;  // typical |gradient| of the test (0: the tensor's own largest)
};

struct SlopeEstimate {
  double slope;
  double standard_error;
};

// Least-squares cubic through (t_k, y_k) for t symmetric around 0: the odd part (b t + d t^3)
// separates from the even part, so the slope comes from a 2x2 solve on the odd differences.
inline SlopeEstimate fit_slope(const std::vector<double>& t, const std::vector<double>& y) {
  const size_t n = t.size();
  // Odd components: pairs (t, y(t) - y(-t)) / 2 for t > 0 (the points come in +-t pairs).
  double s11 = 0, s13 = 0, s33 = 0, r1 = 0, r3 = 0;
  std::vector<std::pair<double, double>> odd;
  for (size_t k = 0; k + 1 < n; k += 2) {
    const double tk = t[k], ok = (y[k] - y[k + 1]) / 2;
    odd.emplace_back(tk, ok);
    s11 += tk * tk;
    s13 += tk * tk * tk * tk;
    s33 += tk * tk * tk * tk * tk * tk;
    r1 += tk * ok;
    r3 += tk * tk * tk * ok;
  }
  const double det = s11 * s33 - s13 * s13;
  const double b = (r1 * s33 - r3 * s13) / det;
  const double d = (s11 * r3 - s13 * r1) / det;
  double residual = 0;
  for (const auto& [tk, ok] : odd)
    residual += (ok - b * tk - d * tk * tk * tk) * (ok - b * tk - d * tk * tk * tk);
  const double dof = static_cast<double>(odd.size()) - 2;
  const double variance = residual / dof;
  return {b, std::sqrt(variance * s33 / det)};
}

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
  auto measure = [&](int64_t i, double eps) {
    const float saved = values[i];
    std::vector<double> t, y;
    for (double fraction : {1.0, 0.75, 0.5, 0.25}) {
      for (double sign : {1.0, -1.0}) {
        // The step actually taken, after rounding the perturbed value to float.
        const float moved = static_cast<float>(saved + sign * fraction * eps);
        values[i] = moved;
        t.push_back(static_cast<double>(moved) - saved);
        y.push_back(loss());
      }
    }
    values[i] = saved;
    return fit_slope(t, y);
  };
  auto crosses_kink = [&](int64_t i, double eps, const std::vector<bool>& pattern) {
    const float saved = values[i];
    bool crossed = false;
    for (double sign : {1.0, -1.0}) {
      values[i] = static_cast<float>(saved + sign * eps);
      loss();
      crossed = crossed || kinks() != pattern;
    }
    values[i] = saved;
    return crossed;
  };
  double largest = tol.scale;
  for (int64_t i : indices) largest = std::max(largest, static_cast<double>(std::abs(analytic[i])));
  int weak = 0;
  for (int64_t i : indices) {
    double eps = tol.eps;
    if (kinks) {
      loss();
      const std::vector<bool> pattern = kinks();
      for (int attempt = 0; attempt < 4 && crosses_kink(i, eps, pattern); ++attempt) eps /= 4;
    }
    const SlopeEstimate fd = measure(i, eps);
    const double g = analytic[i];
    if (3 * fd.standard_error > 0.1 * std::max(std::abs(g), largest)) ++weak;
    EXPECT_NEAR(g, fd.slope,
                tol.atol + tol.rtol * std::abs(g) + 0.01 * tol.scale + 3 * fd.standard_error)
        << what << "[" << i << "] (finite difference " << fd.slope << " +- " << fd.standard_error
        << " with step " << eps << ")";
  }
  EXPECT_LE(4 * weak, static_cast<int>(indices.size()))
      << what << ": " << weak << " of " << indices.size()
      << " coordinates had finite differences too noisy for a sharp check";
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
