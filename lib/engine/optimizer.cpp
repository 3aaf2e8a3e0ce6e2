#include "engine/optimizer.hpp"

#include <cmath>

#include "engine/elementwise.hpp"
#include "engine/parallel.hpp"

namespace vitsweep::engine {

OptimizerSettings OptimizerSettings::from_config(const TrialConfig& c) {
  return {.kind = c.optimizer,
          .weight_decay = c.weight_decay,
          .beta1 = c.beta1,
          .beta2 = c.beta2,
          .eps = c.eps,
          .momentum = c.momentum,
          .clip_norm = c.clip_norm};
}

Optimizer::Optimizer(const ParameterLayout& layout, OptimizerSettings settings)
    : layout_(layout), settings_(std::move(settings)) {
  first_.resize(layout.total());
  if (settings_.kind == "adamw") second_.resize(layout.total());
}

double Optimizer::step(float* params, float* grads, double lr) {
  const int64_t total = layout_.total();
  const double norm = std::sqrt(sum_of_squares(grads, total));
  if (!std::isfinite(norm)) return norm;
  if (settings_.clip_norm > 0) {
    // torch.nn.utils.clip_grad_norm_: scale by clip / (norm + 1e-6) when that is below 1.
    const double coefficient = settings_.clip_norm / (norm + 1e-6);
    if (coefficient < 1.0) {
      const float c = static_cast<float>(coefficient);
      parallel_ranges(total, 16384, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) grads[i] *= c;
      });
    }
  }
  ++steps_;
  const auto& s = settings_;
  const float lr_f = static_cast<float>(lr);
  for (const TensorInfo& t : layout_.tensors()) {
    float* p = params + t.offset;
    const float* g = grads + t.offset;
    float* m = first_.data() + t.offset;
    const float decay = t.decay ? static_cast<float>(s.weight_decay) : 0.0f;
    if (s.kind == "adamw") {
      float* v = second_.data() + t.offset;
      const float b1 = static_cast<float>(s.beta1), b2 = static_cast<float>(s.beta2);
      const float step_size = static_cast<float>(lr / (1.0 - std::pow(s.beta1, steps_)));
      const float correction2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(s.beta2, steps_)));
      const float eps = static_cast<float>(s.eps);
      const float keep = 1.0f - lr_f * decay;
      parallel_ranges(t.size, 16384, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          p[i] *= keep;  // decoupled decay, p -= lr * wd * p
          m[i] = b1 * m[i] + (1.0f - b1) * g[i];
          v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
          p[i] -= step_size * m[i] / (std::sqrt(v[i]) / correction2_sqrt + eps);
        }
      });
    } else {
      // torch.optim.SGD: L2 decay added to the gradient; momentum buffer starts at the gradient.
      const float mu = static_cast<float>(s.momentum);
      const bool first_step = steps_ == 1;
      parallel_ranges(t.size, 16384, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          const float d = g[i] + decay * p[i];
          m[i] = first_step ? d : mu * m[i] + d;
          p[i] -= lr_f * m[i];
        }
      });
    }
  }
  return norm;
}

}  // namespace vitsweep::engine
