// The hand-written exp/erf/softplus against libm, and every activation's derivative against
// central differences in double.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "engine/activations.hpp"
#include "engine/elementwise.hpp"

namespace vitsweep::engine {
namespace {

constexpr Activation kAll[] = {Activation::relu,     Activation::relu2,    Activation::gelu,
                               Activation::softplus, Activation::identity, Activation::relu6,
                               Activation::sigmoid,  Activation::silu};

double reference_value(Activation a, double x) {
  switch (a) {
    case Activation::relu: return std::max(x, 0.0);
    case Activation::relu2: return x > 0 ? x * x : 0.0;
    case Activation::gelu: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case Activation::softplus: return x > 20 ? x : std::log1p(std::exp(x));
    case Activation::identity: return x;
    case Activation::relu6: return std::min(std::max(x, 0.0), 6.0);
    case Activation::sigmoid: return 1 / (1 + std::exp(-x));
    case Activation::silu: return x / (1 + std::exp(-x));
  }
  return 0;
}

TEST(VectorMath, ExpWithinFourUlpOfLibmOverTheUsefulRange) {
  for (double x = -87.0; x <= 88.0; x += 0.01237) {
    const float got = vmath::exp(static_cast<float>(x));
    const float want = std::exp(static_cast<float>(x));
    EXPECT_NEAR(got, want, 4 * std::abs(want) * 1.2e-7) << "x = " << x;
  }
}

TEST(VectorMath, ExpPropagatesNaN) { EXPECT_TRUE(std::isnan(vmath::exp(std::nanf("")))); }

// Phi(x) against erfc in double at the float the kernel sees, relative to Phi itself, so the lower
// tail counts as much as the middle (1 + erf(x / sqrt 2) in float loses it: 0 below x = -5.5).
// Below zero exp(-x^2 / 2) of a rounded x^2 is off by up to x^2 / 2 float ulp: a growing allowance.
TEST(VectorMath, NormalCdfWithinFewUlpOfDoublePrecisionIntoTheLowerTail) {
  for (double x = -12.5; x <= 8.0; x += 0.0007) {
    const float input = static_cast<float>(x);
    const double want = 0.5 * std::erfc(-static_cast<double>(input) / std::sqrt(2.0));
    const double ulp = std::numeric_limits<float>::epsilon() * want;
    EXPECT_NEAR(vmath::normal_cdf(input), want, (8 + 0.5 * std::min(x, 0.0) * x) * ulp)
        << "x = " << x;
  }
}

TEST(Activations, ValuesMatchDoublePrecisionDefinitions) {
  for (Activation a : kAll) {
    with_activation(a, [&](auto f) {
      for (double x = -30.0; x <= 30.0; x += 0.0173) {
        const double want = reference_value(a, x);
        const double got = decltype(f)::value(static_cast<float>(x));
        // Relative 1e-6 (a few float ulp through exp/erf) or absolute 3e-7 near zero.
        EXPECT_NEAR(got, want, 1e-6 * std::abs(want) + 3e-7)
            << activation_name(a) << " at x = " << x;
      }
    });
  }
}

TEST(Activations, DerivativesMatchCentralDifferencesAwayFromKinks) {
  for (Activation a : kAll) {
    with_activation(a, [&](auto f) {
      for (double x = -8.0; x <= 8.0; x += 0.0731) {
        if (std::abs(x) < 1e-3 || std::abs(x - 6.0) < 1e-3) continue;  // relu / relu6 kinks
        const double h = 1e-5;
        const double fd = (reference_value(a, x + h) - reference_value(a, x - h)) / (2 * h);
        EXPECT_NEAR(decltype(f)::derivative(static_cast<float>(x)), fd, 2e-5 + 1e-5 * std::abs(fd))
            << activation_name(a) << " at x = " << x;
      }
    });
  }
}

TEST(Activations, DerivativeConventionsAtKinksFollowPyTorch) {
  EXPECT_EQ(Relu::derivative(0.0f), 0.0f);
  EXPECT_EQ(Relu2::derivative(0.0f), 0.0f);
  EXPECT_EQ(Relu6::derivative(0.0f), 0.0f);
  EXPECT_EQ(Relu6::derivative(6.0f), 0.0f);
  EXPECT_EQ(Relu6::derivative(5.999f), 1.0f);
  EXPECT_EQ(Softplus::value(30.0f), 30.0f);  // linear above PyTorch's threshold of 20
}

// Within k float ulp of `want` (the vectorised loop and a scalar call may contract multiply-adds
// differently, so bit-equality is not promised).
::testing::AssertionResult within_ulps(float got, float want, float k) {
  const float ulp = std::numeric_limits<float>::epsilon() * std::max(std::abs(want), 1e-30f);
  if (std::abs(got - want) <= k * ulp) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << got << " is not within " << k << " ulp of " << want;
}

// The forward keeps act'(x) for the backward, computed beside act(x) where the two share work.
TEST(Activations, ValueAndDerivativeTogetherAgreeWithEachAlone) {
  for (Activation a : kAll) {
    with_activation(a, [&](auto f) {
      using F = decltype(f);
      for (double x = -30.0; x <= 30.0; x += 0.0173) {
        const float input = static_cast<float>(x);
        float derivative = -1.0f;
        const float value = value_and_derivative<F>(input, derivative);
        EXPECT_TRUE(within_ulps(value, F::value(input), 2)) << activation_name(a) << " at " << x;
        // Absolute: GELU' crosses zero near -0.75 as a difference of two terms near 0.2, where
        // two inlined copies may contract differently (seen under ASan).
        EXPECT_NEAR(derivative, F::derivative(input), 2 * std::numeric_limits<float>::epsilon())
            << activation_name(a) << " at " << x;
      }
    });
  }
}

// GELU's value and derivative share one exp(-x^2/2); against x Phi(x) and Phi(x) + x phi(x) in
// double precision, within a few float ulp (absolute below 1, where GELU' crosses zero).
TEST(Activations, GeluAndItsDerivativeWithinFewUlpOfDoublePrecision) {
  for (double x = -30.0; x <= 30.0; x += 0.0173) {
    const float input = static_cast<float>(x);
    const double in = input;
    const double cdf = 0.5 * std::erfc(-in / std::sqrt(2.0));
    const double pdf = std::exp(-0.5 * in * in) / std::sqrt(2.0 * M_PI);
    float derivative = 0;
    const float value = Gelu::value_and_derivative(input, derivative);
    const double eps = std::numeric_limits<float>::epsilon();
    EXPECT_NEAR(value, in * cdf,
                (8 + 0.5 * std::min(in, 0.0) * in) * eps * std::abs(in * cdf) + 1e-30)
        << "x = " << x;
    EXPECT_NEAR(derivative, cdf + in * pdf, 2 * eps * std::max(std::abs(cdf + in * pdf), 1.0))
        << "x = " << x;
  }
}

TEST(Activations, ForwardKeepsTheDerivativeInPlaceOfItsInput) {
  const int64_t n = 40000;  // above one parallel grain
  for (Activation a : kAll) {
    std::vector<float> x(n), kept(n), y(n);
    for (int64_t i = 0; i < n; ++i) x[i] = -7.0f + 14.0f * static_cast<float>(i) / n;
    kept = x;
    activation_forward_keeping_derivative(a, kept.data(), y.data(), n);
    with_activation(a, [&](auto f) {
      using F = decltype(f);
      // GELU' = Phi(x) + x phi(x) crosses zero near -0.75 as a difference of two terms near 0.2:
      // there the vectorised and the scalar sum differ by an ulp of the terms, not of the result.
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_TRUE(within_ulps(y[i], F::value(x[i]), 2)) << activation_name(a) << " at " << x[i];
        ASSERT_NEAR(kept[i], F::derivative(x[i]), 2 * std::numeric_limits<float>::epsilon())
            << activation_name(a) << " at " << x[i];
      }
    });
  }
}

TEST(Activations, NamesRoundTrip) {
  for (Activation a : kAll) EXPECT_EQ(activation_from_name(activation_name(a)), a);
  EXPECT_THROW(activation_from_name("swish"), std::invalid_argument);
}

}  // namespace
}  // namespace vitsweep::engine
