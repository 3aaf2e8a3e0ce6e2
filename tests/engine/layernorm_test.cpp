// LayerNorm computes 16 rows at once in AVX-512 lanes, and other rows (widths that are not a
// multiple of 16, the last rows % 16) one at a time. Both paths must normalise every row on its
// own (no value taken from a neighbouring row, none skipped), which a float64 computation of each
// row checks to float32 accuracy, and must give a row the same bits: a row's bits then depend on
// its values and the width alone, never on the rows around it or the thread count.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
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

// Random rows, upstream gradients and parameters; the rows' mean is far from 0.
struct Inputs {
  Inputs(int64_t rows, int64_t cols, uint64_t seed)
      : x(static_cast<size_t>(rows * cols)), dy(x.size()), w(cols), b(cols) {
    fill_normal(x.data(), rows * cols, 3.0, seed);
    fill_normal(dy.data(), rows * cols, 1.0, seed + 1);
    fill_normal(w.data(), cols, 1.0, seed + 2);
    fill_normal(b.data(), cols, 1.0, seed + 3);
  }
  std::vector<float> x, dy, w, b;
};

TEST(LayerNorm, EachRowMatchesAFloat64ComputationOfThatRow) {
  for (const int64_t cols : {7, 16, 32, 40, 64}) {
    for (const int64_t rows : {1, 8, 203}) {
      SCOPED_TRACE(::testing::Message() << rows << " rows of " << cols);
      const auto n = static_cast<size_t>(rows * cols);
      const Inputs in(rows, cols, 1);
      const auto &x = in.x, &dy = in.dy, &w = in.w, &b = in.b;
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

// The weight's and bias's gradients add sum_r dy[r, c] * xhat[r, c] and sum_r dy[r, c] to what is
// there: every row counted once, at the widths kept in registers (16, 32, 64) and the others.
TEST(LayerNorm, WeightAndBiasGradientsAddEveryRowsTerm) {
  for (const int64_t cols : {7, 16, 32, 40, 64}) {
    for (const int64_t rows : {1, 17, 203}) {  // 203: three chunks of 64 rows and a partial one
      SCOPED_TRACE(::testing::Message() << rows << " rows of " << cols);
      const Inputs in(rows, cols, 11);
      const auto &x = in.x, &dy = in.dy, &w = in.w, &b = in.b;
      std::vector<float> y(static_cast<size_t>(rows * cols)), mean(rows), rstd(rows);
      std::vector<float> dx(y.size()), dw(cols, 0.5f), db(cols, -0.25f);
      layernorm_forward(x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(), rows,
                        cols);
      layernorm_backward(dy.data(), x.data(), w.data(), mean.data(), rstd.data(), dx.data(),
                         dw.data(), db.data(), rows, cols);
      for (int64_t c = 0; c < cols; ++c) {
        // In float64 from the float32 statistics; float32 sums of n terms in chunks of 64 are
        // within about 68 eps of the sum of their magnitudes.
        double want_dw = 0.5, want_db = -0.25, magnitude_dw = 0, magnitude_db = 0;
        for (int64_t r = 0; r < rows; ++r) {
          const double g = dy[r * cols + c];
          const double term = g * ((x[r * cols + c] - static_cast<double>(mean[r])) * rstd[r]);
          want_dw += term;
          want_db += g;
          magnitude_dw += std::abs(term);
          magnitude_db += std::abs(g);
        }
        EXPECT_NEAR(dw[c], want_dw, 1e-5 * (1 + magnitude_dw)) << "column " << c;
        EXPECT_NEAR(db[c], want_db, 1e-5 * (1 + magnitude_db)) << "column " << c;
      }
    }
  }
}

TEST(LayerNorm, ARowHasTheSameBitsInABlockOf16AsAlone) {
  for (const int64_t cols : {16, 32, 64, 40}) {
    const int64_t rows = 35;  // two blocks of 16 and 3 rows after them
    SCOPED_TRACE(::testing::Message() << rows << " rows of " << cols);
    const auto n = static_cast<size_t>(rows * cols);
    const Inputs in(rows, cols, 5);
    const auto &x = in.x, &dy = in.dy, &w = in.w, &b = in.b;
    std::vector<float> y(n), mean(rows), rstd(rows), dx(n, 0.25f), dw(cols), db(cols);
    layernorm_forward(x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(), rows, cols);
    layernorm_backward(dy.data(), x.data(), w.data(), mean.data(), rstd.data(), dx.data(),
                       dw.data(), db.data(), rows, cols);
    int64_t differing_rows = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const size_t at = static_cast<size_t>(r * cols), bytes = cols * sizeof(float);
      std::vector<float> y1(cols), dx1(cols, 0.25f), dw1(cols), db1(cols);
      float mean1 = 0, rstd1 = 0;
      layernorm_forward(x.data() + at, w.data(), b.data(), y1.data(), &mean1, &rstd1, 1, cols);
      layernorm_backward(dy.data() + at, x.data() + at, w.data(), &mean1, &rstd1, dx1.data(),
                         dw1.data(), db1.data(), 1, cols);
      const bool same = mean1 == mean[r] && rstd1 == rstd[r] &&
                        std::memcmp(y1.data(), y.data() + at, bytes) == 0 &&
                        std::memcmp(dx1.data(), dx.data() + at, bytes) == 0;
      if (!same) ++differing_rows;
    }
    EXPECT_EQ(differing_rows, 0);
  }
}

}  // namespace
}  // namespace vitsweep::engine
