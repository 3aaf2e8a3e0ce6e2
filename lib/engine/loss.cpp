#include "engine/loss.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace vitsweep::engine {

LossKind loss_from_name(const std::string& name) {
  if (name == "softmax_xent") return LossKind::softmax_xent;
  if (name == "sigmoid_xent") return LossKind::sigmoid_xent;
  throw std::invalid_argument("unknown loss: " + name);
}

LossResult classification_loss(LossKind kind, const float* logits, const int32_t* labels,
                               int64_t batch, int64_t classes, double label_smoothing,
                               float* d_logits, int64_t mean_over) {
  LossResult result;
  const int64_t divisor = mean_over > 0 ? mean_over : batch;
  const double off_target = label_smoothing / classes;
  const double on_target = 1.0 - label_smoothing + off_target;
  std::vector<double> probabilities(static_cast<size_t>(classes));
  for (int64_t b = 0; b < batch; ++b) {
    const float* z = logits + b * classes;
    const int32_t label = labels[b];
    if (std::max_element(z, z + classes) - z == label) ++result.correct;
    double sample_loss = 0;
    if (kind == LossKind::softmax_xent) {
      const double max = *std::max_element(z, z + classes);
      double sum = 0;
      for (int64_t k = 0; k < classes; ++k) sum += std::exp(z[k] - max);
      const double log_sum = max + std::log(sum);
      for (int64_t k = 0; k < classes; ++k) {
        const double target = k == label ? on_target : off_target;
        sample_loss -= target * (z[k] - log_sum);
        probabilities[k] = std::exp(z[k] - log_sum) - target;
      }
    } else {
      for (int64_t k = 0; k < classes; ++k) {
        const double target = k == label ? on_target : off_target;
        const double x = z[k];
        sample_loss += std::max(x, 0.0) - x * target + std::log1p(std::exp(-std::abs(x)));
        probabilities[k] = 1.0 / (1.0 + std::exp(-x)) - target;
      }
    }
    result.loss += sample_loss;
    if (d_logits != nullptr) {
      for (int64_t k = 0; k < classes; ++k) {
        d_logits[b * classes + k] = static_cast<float>(probabilities[k] / divisor);
      }
    }
  }
  result.loss /= static_cast<double>(divisor);
  return result;
}

}  // namespace vitsweep::engine
