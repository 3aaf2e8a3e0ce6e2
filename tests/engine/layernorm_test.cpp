// LayerNorm normalises several rows side by side (layernorm.cpp) only for speed: every row must
// still be normalised on its own (no value taken from a neighbouring row, none skipped), which a
// float64 computation of each row checks to float32 accuracy. Row counts that are not a multiple
// of the block check the tail. Bit-equality with a row normalised alone is not asserted: the
// compiler may fuse a multiply-add in one path and not the other, differently per build (seen
// under ASan); a row's bits do not depend on the thread count because which rows go together
// depends only on the row count (the bit-identical TwoThreads training tests include qk-norm).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/layernorm.hpp"
#include "gradient_check.hpp"

namespace vitsweep::engine {
namespace {

using testing::fill_normal;

// One row at a time, in float64 from the same float32 inputs.
void reference_forward(const float* x, const float* weight, const float* bias, double* y,
                       double* mean, double* rstd, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * cols;
    double sum = 0;
    for (int64_t c = 0; c < cols; ++c) sum += in[c];
    const double m = sum / static_cast<double>(cols);
    double squares = 0;
    for (int64_t c = 0; c < cols; ++c) squares += (in[c] - m) * (in[c] - m);
    const double s = 1.0 / std::sqrt(squares / static_cast<double>(cols) + kLayerNormEps);
    for (int64_t c = 0; c < cols; ++c) y[r * cols + c] = (in[c] - m) * s * weight[c] + bias[c];
    mean[r] = m;
    rstd[r] = s;
  }
}

// dx += rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * weight.
void reference_backward_dx(const float* dy, const float* x, const float* weight, const double* mean,
                           const double* rstd, double* dx, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *g = dy + r * cols, *in = x + r * cols;
    const double m = mean[r], s = rstd[r];
    double sum_dxhat = 0, sum_dxhat_xhat = 0;
    for (int64_t c = 0; c < cols; ++c) {
      const double dxhat = static_cast<double>(g[c]) * weight[c];
      sum_dxhat += dxhat;
      sum_dxhat_xhat += dxhat * (in[c] - m) * s;
    }
    const double mean_dxhat = sum_dxhat / static_cast<double>(cols);
    const double mean_dxhat_xhat = sum_dxhat_xhat / static_cast<double>(cols);
    for (int64_t c = 0; c < cols; ++c) {
      const double xhat = (in[c] - m) * s;
      dx[r * cols + c] +=
          s * (static_cast<double>(g[c]) * weight[c] - mean_dxhat - xhat * mean_dxhat_xhat);
    }
  }
}

// Every value within float32 rounding of a float64 computation of the same formula.
::testing::AssertionResult close_to(const std::vector<float>& got,
                                    const std::vector<double>& want) {
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::abs(got[i] - want[i]) > 1e-5 * (1 + std::abs(want[i]))) {
      return ::testing::AssertionFailure()
             << "element " << i << ": " << got[i] << ", want " << want[i];
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(LayerNorm, RowsSideBySideEachMatchAFloat64ComputationOfThatRow) {
  for (const int64_t cols : {16, 32, 64}) {
    for (const int64_t rows : {1, 8, 203}) {
      SCOPED_TRACE(::testing::Message() << rows << " rows of " << cols);
      const auto n = static_cast<size_t>(rows * cols);
      std::vector<float> x(n), dy(n), w(cols), b(cols);
      fill_normal(x.data(), rows * cols, 3.0, 1);
      fill_normal(dy.data(), rows * cols, 1.0, 2);
      fill_normal(w.data(), cols, 1.0, 3);
      fill_normal(b.data(), cols, 1.0, 4);
      std::vector<float> y(n), mean(rows), rstd(rows);
      std::vector<double> want_y(n), want_mean(rows), want_rstd(rows);
      layernorm_forward(x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(), rows,
                        cols);
      reference_forward(x.data(), w.data(), b.data(), want_y.data(), want_mean.data(),
                        want_rstd.data(), rows, cols);
      EXPECT_TRUE(close_to(y, want_y));
      EXPECT_TRUE(close_to(mean, want_mean));
      EXPECT_TRUE(close_to(rstd, want_rstd));

      std::vector<float> dx(n, 0.5f), dw(cols), db(cols);
      std::vector<double> want_dx(n, 0.5);
      layernorm_backward(dy.data(), x.data(), w.data(), mean.data(), rstd.data(), dx.data(),
                         dw.data(), db.data(), rows, cols);
      reference_backward_dx(dy.data(), x.data(), w.data(), want_mean.data(), want_rstd.data(),
                            want_dx.data(), rows, cols);
      EXPECT_TRUE(close_to(dx, want_dx));
    }
  }
}

}  // namespace
}  // namespace vitsweep::engine
