// Axis ranges and tick values a reader can take in at a glance: linear axes step by 1, 2 or 5
// times a power of ten ("nice numbers", Heckbert, Graphics Gems 1990) and start and end on a
// tick; log axes tick at powers of ten, or at 1-2-5 steps when the data span less than a few
// decades.
#pragma once

#include <string>
#include <vector>

namespace vitsweep::report {

struct AxisScale {
  double lo = 0, hi = 1;  // the axis' range (data coordinates)
  std::vector<double> ticks;
  bool log = false;
  double step = 1;  // linear: tick spacing (decides how many decimals labels get)

  // Position of `v` along the axis, 0 at lo and 1 at hi.
  double fraction(double v) const;
  std::string label(double tick) const;
};

// About `target` ticks over [min, max] (a single value gets a range around it), spaced at least
// `min_step` apart (1 for whole numbers such as epochs).
AxisScale linear_scale(double min, double max, int target = 6, double min_step = 0);
// min and max must be positive.
AxisScale log_scale(double min, double max);

// The nice number (1, 2, 5 times a power of ten) closest to `x` (> 0).
double nice_step(double x);

}  // namespace vitsweep::report
