// LayerNorm normalises several rows side by side (layernorm.cpp) only for speed: every row must
// get the same bits as a row normalised alone, in the order of operations written below, so that
// trials keep their results. Row counts that are not a multiple of the block check the tail; the
// widths are the models' (multiples of 8: layernorm.cpp says why others may move by one ulp).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "engine/layernorm.hpp"
#include "gradient_check.hpp"

namespace vitsweep::engine {
namespace {

using testing::fill_normal;

// One row at a time: the reference order of every sum.
void reference_forward(const float* x, const float* weight, const float* bias, float* y,
                       float* mean, float* rstd, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * cols;
    float sum = 0;
    for (int64_t c = 0; c < cols; ++c) sum += in[c];
    const float m = sum / cols;
    float squares = 0;
    for (int64_t c = 0; c < cols; ++c) squares += (in[c] - m) * (in[c] - m);
    const float s = 1.0f / std::sqrt(squares / cols + kLayerNormEps);
    for (int64_t c = 0; c < cols; ++c) y[r * cols + c] = (in[c] - m) * s * weight[c] + bias[c];
    mean[r] = m;
    rstd[r] = s;
  }
}

void reference_backward_dx(const float* dy, const float* x, const float* weight, const float* mean,
                           const float* rstd, float* dx, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *g = dy + r * cols, *in = x + r * cols;
    const float m = mean[r], s = rstd[r];
    float sum_dxhat = 0, sum_dxhat_xhat = 0;
    for (int64_t c = 0; c < cols; ++c) {
      const float dxhat = g[c] * weight[c];
      sum_dxhat += dxhat;
      sum_dxhat_xhat += dxhat * (in[c] - m) * s;
    }
    const float mean_dxhat = sum_dxhat / cols, mean_dxhat_xhat = sum_dxhat_xhat / cols;
    for (int64_t c = 0; c < cols; ++c) {
      const float xhat = (in[c] - m) * s;
      dx[r * cols + c] += s * (g[c] * weight[c] - mean_dxhat - xhat * mean_dxhat_xhat);
    }
  }
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(LayerNorm, RowsSideBySideGiveTheBitsOfOneRowAtATime) {
  for (const int64_t cols : {16, 32, 64}) {
    for (const int64_t rows : {1, 8, 203}) {
      SCOPED_TRACE(::testing::Message() << rows << " rows of " << cols);
      const auto n = static_cast<size_t>(rows * cols);
      std::vector<float> x(n), dy(n), w(cols), b(cols);
      fill_normal(x.data(), rows * cols, 3.0, 1);
      fill_normal(dy.data(), rows * cols, 1.0, 2);
      fill_normal(w.data(), cols, 1.0, 3);
      fill_normal(b.data(), cols, 1.0, 4);
      std::vector<float> y(n), mean(rows), rstd(rows), want_y(n), want_mean(rows), want_rstd(rows);
      layernorm_forward(x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(), rows,
                        cols);
      reference_forward(x.data(), w.data(), b.data(), want_y.data(), want_mean.data(),
                        want_rstd.data(), rows, cols);
      EXPECT_TRUE(same_bits(y, want_y));
      EXPECT_TRUE(same_bits(mean, want_mean));
      EXPECT_TRUE(same_bits(rstd, want_rstd));

      std::vector<float> dx(n, 0.5f), want_dx(n, 0.5f), dw(cols), db(cols);
      layernorm_backward(dy.data(), x.data(), w.data(), mean.data(), rstd.data(), dx.data(),
                         dw.data(), db.data(), rows, cols);
      reference_backward_dx(dy.data(), x.data(), w.data(), mean.data(), rstd.data(), want_dx.data(),
                            rows, cols);
      EXPECT_TRUE(same_bits(dx, want_dx));
    }
  }
}

}  // namespace
}  // namespace vitsweep::engine
