// From attention scores S (already scaled by 1/sqrt(d)) to weights, and back. Softmax normalises
// each row; the point-wise family applies h element by element (its L^-alpha factor is applied by
// the matmuls around this step, so `weights` holds the unscaled h(S)). Rows are independent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/activations.hpp"

namespace vitsweep::engine {

// Softmax when `pointwise` is empty, else the point-wise h.
struct AttentionFunction {
  std::optional<Activation> pointwise;

  static AttentionFunction from_name(const std::string& attn);  // "softmax", "relu", ...
  bool is_softmax() const { return !pointwise.has_value(); }
};

void attention_weights_forward(AttentionFunction fn, const float* scores, float* weights,
                               int64_t rows, int64_t cols);

// dscores += the gradient from dweights (dscores must not be dweights). Softmax:
// P * (dP - rowsum(dP * P)). Point-wise: h'(S) * dA, with no row-sum term (method.md): the test
// suite checks each keeps its own form.
void attention_weights_backward(AttentionFunction fn, const float* scores, const float* weights,
                                const float* dweights, float* dscores, int64_t rows, int64_t cols);

}  // namespace vitsweep::engine
