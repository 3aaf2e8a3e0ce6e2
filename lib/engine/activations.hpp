// The point-wise functions of the engine: the attention family's h (relu, relu2, gelu, softplus,
// identity, relu6, sigmoid), the MLP's GELU and the gate's activation (silu, ...), each with its
// derivative. Kernels take the activation as a type parameter (with_activation), so there is one
// kernel per operation, not one per function, and the compiler still inlines and vectorises.
//
// exp and the normal CDF are written out (branch-free, no libm calls) so the loops auto-vectorise
// with AVX-512; accuracy is within a few float ulp (exp: Cephes' polynomial; the CDF: our own fit
// of erfc). Derivative conventions follow PyTorch: relu'(0) = 0, relu6' = 0 at 0 and at 6, softplus
// is linear above 20.
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

namespace vitsweep::engine {

namespace vmath {

// exp(x) for x in [-87.3, 88.3], where 2^n below stays a normal float; callers that know their
// argument's range use it directly (GELU: one clamp where exp would take two and a floor).
inline float exp_in_range(float x) {
  // x = n ln2 + r, |r| <= ln2/2.
  constexpr float kShifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float shifted = x * 1.44269504088896341f + kShifter;
  const float n = shifted - kShifter;
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^n built in the exponent field, in unsigned arithmetic (no float->int conversion of NaN).
  const uint32_t n_bits = std::bit_cast<uint32_t>(shifted) - std::bit_cast<uint32_t>(kShifter);
  return p * std::bit_cast<float>((n_bits + 127u) << 23);
}

// The clamp passes NaN through.
inline float exp(float x) { return exp_in_range(std::min(std::max(x, -87.3f), 88.3f)); }

inline float sigmoid(float x) { return 1.0f / (1.0f + exp(-x)); }

// exp(-x^2 / 2), its exponent floored at kGaussianExponentFloor: at least exp(-80) = 1.8e-35
// (from |x| > 12.65 on), so that the products in GELU and its derivative stay normal floats (a
// subnormal costs a microcode assist per element); the values the floor changes are below 1e-33.
constexpr float kGaussianExponentFloor = -80.0f;
inline float gaussian(float x) {
  return exp_in_range(std::max(-0.5f * x * x, kGaussianExponentFloor));
}

// The standard normal CDF Phi(x) = erfc(-x / sqrt 2) / 2, given gaussian = exp(-x^2 / 2) (passed
// in by GELU, whose derivative needs it too, so it is computed once). One form over the whole
// line: with z = |x| / sqrt 2, erfc(z) = exp(-z^2) R(z), R smooth, fitted as a degree-9
// polynomial in t = 1 / (1 + 0.35 z) (relative error 1.4e-8 in exact arithmetic for |x| <= 13;
// weighted least squares on Chebyshev nodes, refined toward minimax). Phi(x) = erfc(z) / 2 below
// zero and 1 - erfc(z) / 2 above, so the lower tail keeps its relative accuracy (1 + erf(x)
// would cancel there) and no branch is evaluated twice. `gaussian` is at least exp(-80).
inline float normal_cdf_given_gaussian(float x, float gaussian) {
  const float t = 1.0f / (1.0f + 0.2474873734152916f * std::abs(x));  // 0.35 / sqrt 2
  float r = 0.03402488258733663f;                                     // R(z) / 2
  r = r * t - 0.2041777842493201f;
  r = r * t + 0.4292395183013206f;
  r = r * t - 0.38223213365006037f;
  r = r * t + 0.3460541022785985f;
  r = r * t - 0.04264591267130445f;
  r = r * t + 0.12806622755655384f;
  r = r * t + 0.09229623850657571f;
  r = r * t + 0.0994055347303814f;
  r = r * t - 3.068014456083373e-05f;
  const float half_erfc = gaussian * r;
  return x < 0 ? half_erfc : 1.0f - half_erfc;
}

inline float normal_cdf(float x) { return normal_cdf_given_gaussian(x, gaussian(x)); }

// log(1 + u) for u in [0, 1]: 2 atanh(z), z = u / (2 + u) <= 1/3, odd series to z^15.
inline float log1p_unit(float u) {
  const float z = u / (2.0f + u);
  const float z2 = z * z;
  float p = 1.0f / 15;
  p = p * z2 + 1.0f / 13;
  p = p * z2 + 1.0f / 11;
  p = p * z2 + 1.0f / 9;
  p = p * z2 + 1.0f / 7;
  p = p * z2 + 1.0f / 5;
  p = p * z2 + 1.0f / 3;
  p = p * z2 + 1.0f;
  return 2.0f * z * p;
}

}  // namespace vmath

enum class Activation : uint8_t { relu, relu2, gelu, softplus, identity, relu6, sigmoid, silu };

// "relu2" -> Activation::relu2. Throws for an unknown name (config validation catches users first).
Activation activation_from_name(std::string_view name);
std::string_view activation_name(Activation activation);

struct Relu {
  static float value(float x) { return x > 0 ? x : 0.0f; }
  static float derivative(float x) { return x > 0 ? 1.0f : 0.0f; }
};
struct Relu2 {
  static float value(float x) { return x > 0 ? x * x : 0.0f; }
  static float derivative(float x) { return x > 0 ? 2.0f * x : 0.0f; }
};
struct Gelu {  // x Phi(x), Phi the standard normal CDF; GELU' = Phi(x) + x phi(x)
  static float value(float x) {
    float d;
    return value_and_derivative(x, d);
  }
  static float derivative(float x) {
    float d;
    value_and_derivative(x, d);
    return d;
  }
  // exp(-x^2 / 2) serves both Phi and the normal density phi: one exp for the pair (the compiler
  // drops the derivative's few multiply-adds where only the value is used). Through
  // vmath::gaussian one clamp of the exponent replaced exp's two clamps and the floor after it:
  // 0.50 -> 0.40 ns an element (1 thread, AMD EPYC), the same bits for |x| < 12.65.
  static float value_and_derivative(float x, float& derivative) {
    const float gaussian = vmath::gaussian(x);
    const float cdf = vmath::normal_cdf_given_gaussian(x, gaussian);
    derivative = cdf + x * (0.39894228040143268f * gaussian);
    return x * cdf;
  }
};
struct Softplus {  // ln(1 + e^x), written to stay exact for large |x|
  static float value(float x) {
    return std::max(x, 0.0f) + vmath::log1p_unit(vmath::exp(-std::abs(x)));
  }
  static float derivative(float x) { return vmath::sigmoid(x); }
};
struct Identity {
  static float value(float x) { return x; }
  static float derivative(float) { return 1.0f; }
};
struct Relu6 {
  static float value(float x) { return std::min(std::max(x, 0.0f), 6.0f); }
  static float derivative(float x) { return (x > 0 && x < 6) ? 1.0f : 0.0f; }
};
struct Sigmoid {
  static float value(float x) { return vmath::sigmoid(x); }
  static float derivative(float x) {
    const float s = vmath::sigmoid(x);
    return s * (1.0f - s);
  }
};
struct Silu {  // x sigmoid(x)
  static float value(float x) { return x * vmath::sigmoid(x); }
  static float derivative(float x) {
    float d;
    value_and_derivative(x, d);
    return d;
  }
  static float value_and_derivative(float x, float& derivative) {
    const float s = vmath::sigmoid(x);
    derivative = s * (1.0f + x * (1.0f - s));
    return x * s;
  }
};

// F's value at x, and its derivative into `derivative`, in one evaluation where F shares work
// between the two (GELU's exp, SiLU's sigmoid), else each on its own.
template <typename F>
inline float value_and_derivative(float x, float& derivative) {
  if constexpr (requires { F::value_and_derivative(x, derivative); }) {
    return F::value_and_derivative(x, derivative);
  } else {
    derivative = F::derivative(x);
    return F::value(x);
  }
}

// Calls fn(F{}) with the functor type F of `activation`: the one switch in the engine.
template <typename Fn>
decltype(auto) with_activation(Activation activation, Fn&& fn) {
  switch (activation) {
    case Activation::relu: return fn(Relu{});
    case Activation::relu2: return fn(Relu2{});
    case Activation::gelu: return fn(Gelu{});
    case Activation::softplus: return fn(Softplus{});
    case Activation::identity: return fn(Identity{});
    case Activation::relu6: return fn(Relu6{});
    case Activation::sigmoid: return fn(Sigmoid{});
    case Activation::silu: return fn(Silu{});
  }
  return fn(Identity{});
}

}  // namespace vitsweep::engine
