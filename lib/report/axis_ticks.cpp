#include "report/axis_ticks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace vitsweep::report {

double nice_step(double x) {
  const double power = std::pow(10.0, std::floor(std::log10(x)));
  const double mantissa = x / power;
  // Thresholds at the geometric means of neighbouring choices.
  const double nice = mantissa < 1.4142 ? 1 : mantissa < 3.1623 ? 2 : mantissa < 7.0711 ? 5 : 10;
  return nice * power;
}

double AxisScale::fraction(double v) const {
  if (log) return (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
  return (v - lo) / (hi - lo);
}

std::string AxisScale::label(double tick) const {
  if (log) {
    if (tick >= 1e5 || tick < 1e-3) {
      const int exponent = static_cast<int>(std::lround(std::log10(tick)));
      if (std::fabs(tick - std::pow(10.0, exponent)) < 1e-9 * tick)
        return fmt::format("1e{}", exponent);
      return fmt::format("{:.0e}", tick);
    }
    return fmt::format("{:g}", tick);
  }
  // Enough decimals to tell neighbouring ticks apart, no more.
  const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  std::string text = fmt::format("{:.{}f}", tick, decimals);
  // A tick at lo + i * step can land on -1e-17: "-0.0" reads as a bug.
  if (text.starts_with('-') && text.find_first_not_of("-0.") == std::string::npos) text.erase(0, 1);
  return text;
}

AxisScale linear_scale(double min, double max, int target, double min_step) {
  if (!std::isfinite(min) || !std::isfinite(max)) min = 0, max = 1;
  if (max < min) std::swap(min, max);
  if (max - min < 1e-12 * std::max(1.0, std::fabs(max))) {
    const double half = std::fabs(min) > 0 ? std::fabs(min) * 0.1 : 1;
    min -= half;
    max += half;
  }
  AxisScale scale;
  scale.step = std::max(min_step, nice_step((max - min) / std::max(1, target - 1)));
  scale.lo = std::floor(min / scale.step + 1e-9) * scale.step;
  scale.hi = std::ceil(max / scale.step - 1e-9) * scale.step;
  const int count = static_cast<int>(std::lround((scale.hi - scale.lo) / scale.step));
  // Ticks as lo + i * step, not accumulated sums (no 0.30000000000000004).
  for (int i = 0; i <= count; ++i) scale.ticks.push_back(scale.lo + i * scale.step);
  return scale;
}

AxisScale log_scale(double min, double max) {
  if (!(min > 0) || !std::isfinite(min)) min = 1;
  if (!(max > 0) || !std::isfinite(max)) max = min * 10;
  if (max < min) std::swap(min, max);
  AxisScale scale;
  scale.log = true;
  // A little room around the data so points do not sit on the frame.
  scale.lo = min / 1.25;
  scale.hi = max * 1.25;
  const int first = static_cast<int>(std::floor(std::log10(scale.lo)));
  const int last = static_cast<int>(std::ceil(std::log10(scale.hi)));
  const int decades = last - first;
  std::vector<double> mantissas =
      decades > 3 ? std::vector<double>{1} : std::vector<double>{1, 2, 5};
  if (decades <= 1) mantissas = {1, 2, 3, 5, 7};
  const int every = decades > 8 ? (decades + 7) / 8 : 1;
  for (int e = first; e <= last; ++e) {
    if ((e - first) % every != 0) continue;
    for (double m : mantissas) {
      const double tick = m * std::pow(10.0, e);
      if (tick >= scale.lo && tick <= scale.hi) scale.ticks.push_back(tick);
    }
  }
  if (scale.ticks.size() < 2) {
    // Less than a decade between two powers of ten: widen the range to the neighbouring ones.
    scale.lo = std::pow(10.0, std::floor(std::log10(scale.lo)));
    scale.hi = std::pow(10.0, std::ceil(std::log10(scale.hi)));
    scale.ticks = {scale.lo, scale.hi};
  }
  return scale;
}

}  // namespace vitsweep::report
