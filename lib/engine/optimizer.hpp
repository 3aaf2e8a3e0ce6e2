// AdamW with PyTorch semantics and SGD with momentum, after optional global-norm clipping.
// Weight decay touches only the tensors the layout marks `decay` (weight matrices): not biases,
// norms, the position embedding or the class token.
#pragma once

#include <cstdint>
#include <string>

#include "engine/buffer.hpp"
#include "engine/parameters.hpp"

namespace vitsweep::engine {

struct OptimizerSettings {
  std::string kind = "adamw";  // adamw, sgd
  double weight_decay = 0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double momentum = 0.9;
  double clip_norm = 0;  // 0: no clipping
};

class Optimizer {
 public:
  Optimizer(const ParameterLayout& layout, OptimizerSettings settings);

  // Clips `grads` in place when clip_norm > 0, then updates `params` with learning rate lr.
  // Returns the global gradient norm before clipping; when it is not finite nothing is updated.
  double step(float* params, float* grads, double lr);

  int64_t steps() const { return steps_; }
  void set_steps(int64_t steps) { steps_ = steps; }
  // AdamW: first and second moments; SGD: momentum buffer in first, second unused (empty).
  FloatBuffer& first_moment() { return first_; }
  FloatBuffer& second_moment() { return second_; }
  const FloatBuffer& first_moment() const { return first_; }
  const FloatBuffer& second_moment() const { return second_; }
  const OptimizerSettings& settings() const { return settings_; }

 private:
  const ParameterLayout& layout_;
  OptimizerSettings settings_;
  FloatBuffer first_, second_;
  int64_t steps_ = 0;
};

}  // namespace vitsweep::engine
