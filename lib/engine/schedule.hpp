// Learning rate by step: linear warm-up, then cosine / linear decay to 0, or constant.
#pragma once

#include <cstdint>
#include <string>

namespace vitsweep::engine {

struct Schedule {
  std::string kind = "cosine";  // cosine, linear, constant
  double peak_lr = 1e-3;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
};

// For update `step` (0-based): step < W: lr (step + 1) / W; after, with f = (step - W) / (T - W):
// cosine lr (1 + cos(pi f)) / 2, linear lr (1 - f), constant lr.
double learning_rate(const Schedule& schedule, int64_t step);

}  // namespace vitsweep::engine
