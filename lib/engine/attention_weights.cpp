#include "engine/attention_weights.hpp"

#include <algorithm>
#include <limits>

#include "engine/parallel.hpp"

namespace vitsweep::engine {

AttentionFunction AttentionFunction::from_name(const std::string& attn) {
  if (attn == "softmax") return {};
  return {activation_from_name(attn)};
}

void attention_weights_forward(AttentionFunction fn, const float* scores, float* weights,
                               int64_t rows, int64_t cols) {
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1));
  if (fn.is_softmax()) {
    parallel_ranges(rows, grain, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const float* s = scores + r * cols;
        float* p = weights + r * cols;
        float max = -std::numeric_limits<float>::infinity();
        for (int64_t c = 0; c < cols; ++c) max = std::max(max, s[c]);
        float sum = 0;
        for (int64_t c = 0; c < cols; ++c) {
          p[c] = vmath::exp(s[c] - max);
          sum += p[c];
        }
        const float inverse = 1.0f / sum;
        for (int64_t c = 0; c < cols; ++c) p[c] *= inverse;
      }
    });
    return;
  }
  with_activation(*fn.pointwise, [&](auto h) {
    using H = decltype(h);
    parallel_ranges(rows * cols, 16384, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) weights[i] = H::value(scores[i]);
    });
  });
}

void attention_weights_backward(AttentionFunction fn, const float* scores, const float* weights,
                                const float* dweights, float* dscores, int64_t rows, int64_t cols) {
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1));
  if (fn.is_softmax()) {
    parallel_ranges(rows, grain, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const float* p = weights + r * cols;
        const float* dp = dweights + r * cols;
        float* ds = dscores + r * cols;
        float dot = 0;
        for (int64_t c = 0; c < cols; ++c) dot += dp[c] * p[c];
        for (int64_t c = 0; c < cols; ++c) ds[c] += p[c] * (dp[c] - dot);
      }
    });
    return;
  }
  with_activation(*fn.pointwise, [&](auto h) {
    using H = decltype(h);
    parallel_ranges(rows * cols, 16384, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) dscores[i] += H::derivative(scores[i]) * dweights[i];
    });
  });
}

}  // namespace vitsweep::engine
