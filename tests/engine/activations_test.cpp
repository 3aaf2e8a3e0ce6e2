// The hand-written exp/erf/softplus against libm, and every activation's derivative against
// central differences in double.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/activations.hpp"

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

TEST(VectorMath, ErfWithinThreeUlpOfDoublePrecision) {
  for (double x = -6.0; x <= 6.0; x += 0.0007) {
    const float input = static_cast<float>(x);  // compare at the float the kernel sees
    const double want = std::erf(static_cast<double>(input));
    const double ulp = std::numeric_limits<float>::epsilon() * std::max(std::abs(want), 1e-30);
    EXPECT_NEAR(vmath::erf(input), want, 3 * ulp) << "x = " << x;
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

TEST(Activations, NamesRoundTrip) {
  for (Activation a : kAll) EXPECT_EQ(activation_from_name(activation_name(a)), a);
  EXPECT_THROW(activation_from_name("swish"), std::invalid_argument);
}

}  // namespace
}  // namespace vitsweep::engine
