#include "engine/layernorm.hpp"

#include <cmath>
#include <vector>

#include "engine/parallel.hpp"

namespace vitsweep::engine {

namespace {

// Rows normalised side by side. A row's sums are chains of dependent additions (kept in their
// order), and at the sweeps' widths (32, and 16 in qk-norm) one chain at a time leaves the adder
// waiting on its own latency; R independent chains fill it. Each row keeps the order of its own
// sums, but the compiler may fuse a multiply-add in the R = 8 code and not in the R = 1 code (seen
// under ASan, and at width 7 in Release), moving a value by one unit in the last place: rows are
// grouped by their index (in_row_blocks), so that never depends on the thread count.
constexpr int64_t kRowsAtOnce = 8;

// Rows [r, r + R) of layernorm_forward.
template <int64_t R>
void layernorm_forward_rows(const float* x, const float* weight, const float* bias, float* y,
                            float* mean, float* rstd, int64_t r, int64_t cols) {
  const float* in = x + r * cols;
  float sum[R] = {}, squares[R] = {}, m[R], s[R];
  for (int64_t c = 0; c < cols; ++c) {
    for (int64_t j = 0; j < R; ++j) sum[j] += in[j * cols + c];
  }
  for (int64_t j = 0; j < R; ++j) m[j] = sum[j] / cols;
  for (int64_t c = 0; c < cols; ++c) {
    for (int64_t j = 0; j < R; ++j) {
      const float d = in[j * cols + c] - m[j];
      squares[j] += d * d;
    }
  }
  for (int64_t j = 0; j < R; ++j) {
    s[j] = 1.0f / std::sqrt(squares[j] / cols + kLayerNormEps);
    const float* row = in + j * cols;
    float* out = y + (r + j) * cols;
    for (int64_t c = 0; c < cols; ++c) out[c] = (row[c] - m[j]) * s[j] * weight[c] + bias[c];
    mean[r + j] = m[j];
    rstd[r + j] = s[j];
  }
}

// Rows [r, r + R) of layernorm_backward's dx.
template <int64_t R>
void layernorm_backward_rows(const float* dy, const float* x, const float* weight,
                             const float* mean, const float* rstd, float* dx, int64_t r,
                             int64_t cols) {
  // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * weight
  float sum_dxhat[R] = {}, sum_dxhat_xhat[R] = {};
  for (int64_t c = 0; c < cols; ++c) {
    for (int64_t j = 0; j < R; ++j) {
      const int64_t i = (r + j) * cols + c;
      const float dxhat = dy[i] * weight[c];
      sum_dxhat[j] += dxhat;
      sum_dxhat_xhat[j] += dxhat * (x[i] - mean[r + j]) * rstd[r + j];
    }
  }
  for (int64_t j = 0; j < R; ++j) {
    const float* g = dy + (r + j) * cols;
    const float* in = x + (r + j) * cols;
    float* out = dx + (r + j) * cols;
    const float m = mean[r + j], s = rstd[r + j];
    const float mean_dxhat = sum_dxhat[j] / cols, mean_dxhat_xhat = sum_dxhat_xhat[j] / cols;
    for (int64_t c = 0; c < cols; ++c) {
      const float xhat = (in[c] - m) * s;
      const float grad = s * (g[c] * weight[c] - mean_dxhat - xhat * mean_dxhat_xhat);
      out[c] += grad;
    }
  }
}

// fn.template operator()<R>(r) over every row: blocks of kRowsAtOnce rows in parallel, then the
// last rows % kRowsAtOnce one by one. Which rows go together depends only on `rows`, never on how
// TBB split the loop over threads, so a row's bits do not depend on the thread count at any width.
template <typename Fn>
void in_row_blocks(int64_t rows, Fn&& fn) {
  const int64_t blocks = rows / kRowsAtOnce;
  parallel_ranges(blocks, 64 / kRowsAtOnce, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) fn.template operator()<kRowsAtOnce>(b * kRowsAtOnce);
  });
  for (int64_t r = blocks * kRowsAtOnce; r < rows; ++r) fn.template operator()<1>(r);
}

}  // namespace

void layernorm_forward(const float* x, const float* weight, const float* bias, float* y,
                       float* mean, float* rstd, int64_t rows, int64_t cols) {
  in_row_blocks(rows, [&]<int64_t R>(int64_t r) {
    layernorm_forward_rows<R>(x, weight, bias, y, mean, rstd, r, cols);
  });
}

void layernorm_backward(const float* dy, const float* x, const float* weight, const float* mean,
                        const float* rstd, float* dx, float* dweight, float* dbias, int64_t rows,
                        int64_t cols) {
  in_row_blocks(rows, [&]<int64_t R>(int64_t r) {
    layernorm_backward_rows<R>(dy, x, weight, mean, rstd, dx, r, cols);
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
