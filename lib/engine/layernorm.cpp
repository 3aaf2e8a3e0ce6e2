#include "engine/layernorm.hpp"

#include <cmath>
#include <vector>

#include "engine/parallel.hpp"

namespace vitsweep::engine {

void layernorm_forward(const float* x, const float* weight, const float* bias, float* y,
                       float* mean, float* rstd, int64_t rows, int64_t cols) {
  parallel_ranges(rows, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* in = x + r * cols;
      float* out = y + r * cols;
      float sum = 0;
      for (int64_t c = 0; c < cols; ++c) sum += in[c];
      const float m = sum / cols;
      float squares = 0;
      for (int64_t c = 0; c < cols; ++c) squares += (in[c] - m) * (in[c] - m);
      const float s = 1.0f / std::sqrt(squares / cols + kLayerNormEps);
      for (int64_t c = 0; c < cols; ++c) out[c] = (in[c] - m) * s * weight[c] + bias[c];
      mean[r] = m;
      rstd[r] = s;
    }
  });
}

void layernorm_backward(const float* dy, const float* x, const float* weight, const float* mean,
                        const float* rstd, float* dx, float* dweight, float* dbias, int64_t rows,
                        int64_t cols) {
  parallel_ranges(rows, 64, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* g = dy + r * cols;
      const float* in = x + r * cols;
      float* out = dx + r * cols;
      const float m = mean[r], s = rstd[r];
      // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * weight
      float sum_dxhat = 0, sum_dxhat_xhat = 0;
      for (int64_t c = 0; c < cols; ++c) {
        const float dxhat = g[c] * weight[c];
        sum_dxhat += dxhat;
        sum_dxhat_xhat += dxhat * (in[c] - m) * s;
      }
      const float mean_dxhat = sum_dxhat / cols, mean_dxhat_xhat = sum_dxhat_xhat / cols;
      for (int64_t c = 0; c < cols; ++c) {
        const float xhat = (in[c] - m) * s;
        const float grad = s * (g[c] * weight[c] - mean_dxhat - xhat * mean_dxhat_xhat);
        out[c] += grad;
      }
    }
  });
  // dweight and dbias side by side in one deterministic reduction.
  std::vector<float> sums(static_cast<size_t>(2 * cols), 0.0f);
  deterministic_row_sum(rows, 2 * cols, sums.data(), [&](int64_t begin, int64_t end, float* acc) {
    for (int64_t r = begin; r < end; ++r) {
      const float* g = dy + r * cols;
      const float* in = x + r * cols;
      const float m = mean[r], s = rstd[r];
      for (int64_t c = 0; c < cols; ++c) {
        acc[c] += g[c] * (in[c] - m) * s;
        acc[cols + c] += g[c];
      }
    }
  });
  for (int64_t c = 0; c < cols; ++c) {
    dweight[c] += sums[c];
    dbias[c] += sums[cols + c];
  }
}

}  // namespace vitsweep::engine
