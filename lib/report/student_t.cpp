#include "report/student_t.hpp"

#include <cmath>
#include <limits>

#include "common/error.hpp"

namespace vitsweep::report {

namespace {

// The continued fraction of I_x(a, b) (Numerical Recipes, 3rd ed., 6.4; modified Lentz), which
// converges fast for x < (a + 1) / (a + b + 2).
double beta_continued_fraction(double x, double a, double b) {
  constexpr double kTiny = 1e-300;
  // Stop when a step changes the value by less than a few units in the last place.
  constexpr double kEpsilon = 4 * std::numeric_limits<double>::epsilon();
  const double qab = a + b, qap = a + 1, qam = a - 1;
  double c = 1, d = 1 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double step = d * c;
    h *= step;
    if (std::fabs(step - 1) < kEpsilon) return h;
  }
  fail("internal: incomplete beta I_{}({}, {}) did not converge", x, a, b);
}

}  // namespace

double regularized_incomplete_beta(double x, double a, double b) {
  if (!(x >= 0 && x <= 1) || !(a > 0) || !(b > 0)) {
    fail("internal: incomplete beta I_{}({}, {}) needs x in [0, 1] and a, b > 0", x, a, b);
  }
  if (x == 0 || x == 1) return x;
  // x^a (1 - x)^b / (a B(a, b)), in logarithms so large a and b do not overflow.
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_continued_fraction(x, a, b) / a;
  return 1 - front * beta_continued_fraction(1 - x, b, a) / b;
}

double student_t_cdf(double t, double dof) {
  if (!(dof > 0)) fail("internal: Student t with {} degrees of freedom", dof);
  if (std::isnan(t)) return NAN;
  if (std::isinf(t)) return t > 0 ? 1 : 0;
  // P(|T| > |t|) = I_{dof / (dof + t^2)}(dof / 2, 1 / 2).
  const double tail = 0.5 * regularized_incomplete_beta(dof / (dof + t * t), dof / 2, 0.5);
  return t > 0 ? 1 - tail : tail;
}

double student_t_quantile(double p, double dof) {
  if (!(p > 0 && p < 1)) fail("internal: Student t quantile of p = {} (needs 0 < p < 1)", p);
  if (p < 0.5) return -student_t_quantile(1 - p, dof);
  if (p == 0.5) return 0;
  double lo = 0, hi = 1;
  while (student_t_cdf(hi, dof) < p) {
    lo = hi;
    hi *= 2;
  }
  // The CDF is increasing: halve the bracket until it is as narrow as a double can tell.
  while (hi - lo > 4 * std::numeric_limits<double>::epsilon() * hi) {
    const double mid = (lo + hi) / 2;
    if (mid <= lo || mid >= hi) break;
    (student_t_cdf(mid, dof) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

}  // namespace vitsweep::report
