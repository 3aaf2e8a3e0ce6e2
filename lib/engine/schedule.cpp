#include "engine/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace vitsweep::engine {

double learning_rate(const Schedule& s, int64_t step) {
  if (step < s.warmup_steps) {
    return s.peak_lr * static_cast<double>(step + 1) / static_cast<double>(s.warmup_steps);
  }
  const double decay_steps =
      static_cast<double>(std::max<int64_t>(1, s.total_steps - s.warmup_steps));
  const double f = std::min(1.0, static_cast<double>(step - s.warmup_steps) / decay_steps);
  if (s.kind == "cosine") return s.peak_lr * 0.5 * (1.0 + std::cos(std::numbers::pi * f));
  if (s.kind == "linear") return s.peak_lr * (1.0 - f);
  return s.peak_lr;
}

}  // namespace vitsweep::engine
