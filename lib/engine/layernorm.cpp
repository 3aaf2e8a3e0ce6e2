#include "engine/layernorm.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/parallel.hpp"
#include "engine/transpose_16x16.hpp"

// Every row gets the same bits whichever path computes it: the sums run down the columns in
// order, and each operation is spelled out (std::fma where a multiply-add is fused), with the
// compiler's own contraction of a * b + c turned off for this file (lib/engine/CMakeLists.txt).
// So a row's bits depend on its values and the width alone: never on the thread count, the rows
// around it, or whether it fell in a block of 16.

namespace vitsweep::engine {

namespace {

constexpr int64_t kRowsPerTask = 64;

// One row: the reference path, for widths that are not a multiple of 16, the last rows % 16, and
// builds without AVX-512.
void layernorm_forward_row(const float* in, const float* weight, const float* bias, float* out,
                           float& mean, float& rstd, int64_t cols) {
  const float n = static_cast<float>(cols);
  float sum = 0.0f;
  for (int64_t c = 0; c < cols; ++c) sum += in[c];
  const float m = sum / n;
  float squares = 0.0f;
  for (int64_t c = 0; c < cols; ++c) squares = std::fma(in[c] - m, in[c] - m, squares);
  const float s = 1.0f / std::sqrt(squares / n + kLayerNormEps);
  for (int64_t c = 0; c < cols; ++c) out[c] = std::fma((in[c] - m) * s, weight[c], bias[c]);
  mean = m;
  rstd = s;
}

// dx += rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dy * weight.
void layernorm_backward_row(const float* g, const float* in, const float* weight, float m, float s,
                            float* out, int64_t cols) {
  const float n = static_cast<float>(cols);
  float sum_dxhat = 0.0f, sum_dxhat_xhat = 0.0f;
  for (int64_t c = 0; c < cols; ++c) {
    const float dxhat = g[c] * weight[c];
    sum_dxhat += dxhat;
    sum_dxhat_xhat = std::fma(dxhat, (in[c] - m) * s, sum_dxhat_xhat);
  }
  const float mean_dxhat = sum_dxhat / n, mean_dxhat_xhat = sum_dxhat_xhat / n;
  for (int64_t c = 0; c < cols; ++c) {
    const float xhat = (in[c] - m) * s;
    out[c] += s * ((g[c] * weight[c] - mean_dxhat) - xhat * mean_dxhat_xhat);
  }
}

#if defined(__AVX512F__)

// 16 rows at once, lane j holding row j: each 16-column chunk is transposed in registers, so a
// row's sums are the same ordered chains as in the row path, 16 of them per instruction, and the
// division and square root are done once for 16 rows. At qk-norm's width (16) a row is one
// vector, and one row at a time would leave the adder waiting on a single chain.
constexpr int64_t kBlockRows = 16;

// GCC 12 warns inside its own headers (see transpose_16x16.hpp): _mm512_sqrt_ps passes an
// undefined vector as the merge source of a mask it does not use.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// t[c] = column c0 + c of the block's 16 rows (lane j: row j).
inline void load_columns(const float* rows, int64_t cols, int64_t c0, __m512 t[16]) {
  for (int j = 0; j < 16; ++j) t[j] = _mm512_loadu_ps(rows + j * cols + c0);
  transpose_16x16(t);
}

void layernorm_forward_block(const float* in, const float* weight, const float* bias, float* out,
                             float* mean, float* rstd, int64_t cols) {
  const __m512 n = _mm512_set1_ps(static_cast<float>(cols));
  __m512 t[16];
  __m512 sum = _mm512_setzero_ps();
  for (int64_t c0 = 0; c0 < cols; c0 += 16) {
    load_columns(in, cols, c0, t);
    for (int c = 0; c < 16; ++c) sum = _mm512_add_ps(sum, t[c]);
  }
  const __m512 m = _mm512_div_ps(sum, n);
  __m512 squares = _mm512_setzero_ps();
  for (int64_t c0 = 0; c0 < cols; c0 += 16) {
    load_columns(in, cols, c0, t);
    for (int c = 0; c < 16; ++c) {
      const __m512 d = _mm512_sub_ps(t[c], m);
      squares = _mm512_fmadd_ps(d, d, squares);
    }
  }
  const __m512 variance = _mm512_add_ps(_mm512_div_ps(squares, n), _mm512_set1_ps(kLayerNormEps));
  const __m512 s = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_sqrt_ps(variance));
  _mm512_storeu_ps(mean, m);
  _mm512_storeu_ps(rstd, s);
  for (int64_t j = 0; j < kBlockRows; ++j) {
    const __m512 mj = _mm512_set1_ps(mean[j]), sj = _mm512_set1_ps(rstd[j]);
    for (int64_t c0 = 0; c0 < cols; c0 += 16) {
      const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(in + j * cols + c0), mj), sj);
      _mm512_storeu_ps(out + j * cols + c0, _mm512_fmadd_ps(xhat, _mm512_loadu_ps(weight + c0),
                                                            _mm512_loadu_ps(bias + c0)));
    }
  }
}

void layernorm_backward_block(const float* g, const float* in, const float* weight,
                              const float* mean, const float* rstd, float* out, int64_t cols) {
  const __m512 n = _mm512_set1_ps(static_cast<float>(cols));
  const __m512 m = _mm512_loadu_ps(mean), s = _mm512_loadu_ps(rstd);
  __m512 gt[16], xt[16];
  __m512 sum_dxhat = _mm512_setzero_ps(), sum_dxhat_xhat = _mm512_setzero_ps();
  for (int64_t c0 = 0; c0 < cols; c0 += 16) {
    load_columns(g, cols, c0, gt);
    load_columns(in, cols, c0, xt);
    for (int c = 0; c < 16; ++c) {
      const __m512 dxhat = _mm512_mul_ps(gt[c], _mm512_set1_ps(weight[c0 + c]));
      sum_dxhat = _mm512_add_ps(sum_dxhat, dxhat);
      const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(xt[c], m), s);
      sum_dxhat_xhat = _mm512_fmadd_ps(dxhat, xhat, sum_dxhat_xhat);
    }
  }
  alignas(64) float mean_dxhat[16], mean_dxhat_xhat[16];
  _mm512_store_ps(mean_dxhat, _mm512_div_ps(sum_dxhat, n));
  _mm512_store_ps(mean_dxhat_xhat, _mm512_div_ps(sum_dxhat_xhat, n));
  for (int64_t j = 0; j < kBlockRows; ++j) {
    const __m512 mj = _mm512_set1_ps(mean[j]), sj = _mm512_set1_ps(rstd[j]);
    const __m512 md = _mm512_set1_ps(mean_dxhat[j]), mdx = _mm512_set1_ps(mean_dxhat_xhat[j]);
    for (int64_t c0 = 0; c0 < cols; c0 += 16) {
      const int64_t i = j * cols + c0;
      const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(in + i), mj), sj);
      const __m512 dxhat = _mm512_mul_ps(_mm512_loadu_ps(g + i), _mm512_loadu_ps(weight + c0));
      const __m512 grad =
          _mm512_mul_ps(sj, _mm512_sub_ps(_mm512_sub_ps(dxhat, md), _mm512_mul_ps(xhat, mdx)));
      _mm512_storeu_ps(out + i, _mm512_add_ps(_mm512_loadu_ps(out + i), grad));
    }
  }
}

#pragma GCC diagnostic pop

#endif

// Rows [begin, end) in this thread: block(r) for each block of 16 rows at r while the width
// allows it, row(r) for the rest. Either path gives a row the same bits, so where the blocks
// start does not matter.
template <typename Block, typename Row>
void rows_in_blocks(int64_t begin, int64_t end, [[maybe_unused]] int64_t cols,
                    [[maybe_unused]] Block&& block, Row&& row) {
  int64_t r = begin;
#if defined(__AVX512F__)
  if (cols % kBlockRows == 0) {
    for (; r + kBlockRows <= end; r += kBlockRows) block(r);
  }
#endif
  for (; r < end; ++r) row(r);
}

// acc[c] += dy[r, c] * xhat[r, c] and acc[cols + c] += dy[r, c] for rows [begin, end): the
// weight's and the bias's gradients, each column's rows added in order.
void add_parameter_gradients(const float* dy, const float* x, const float* mean, const float* rstd,
                             int64_t begin, int64_t end, int64_t cols, float* acc) {
  for (int64_t r = begin; r < end; ++r) {
    const float* g = dy + r * cols;
    const float* in = x + r * cols;
    const float m = mean[r], s = rstd[r];
    for (int64_t c = 0; c < cols; ++c) {
      acc[c] += g[c] * ((in[c] - m) * s);
      acc[cols + c] += g[c];
    }
  }
}

#if defined(__AVX512F__)
// The same sums for a width of kVectors * 16 columns, kept in registers across the rows: acc
// might alias dy or x as far as the compiler knows, so the loop above stores and reloads it every
// row, and at qk-norm's and nano's widths (one or two vectors a row) each add waits for the last
// row's store (as in add_column_sums). The same operations in the same order: the same bits.
template <int kVectors>
void add_parameter_gradients_in_registers(const float* dy, const float* x, const float* mean,
                                          const float* rstd, int64_t begin, int64_t end,
                                          float* acc) {
  constexpr int64_t cols = kVectors * 16;
  __m512 weight_sums[kVectors], bias_sums[kVectors];
  for (int v = 0; v < kVectors; ++v) {
    weight_sums[v] = _mm512_loadu_ps(acc + 16 * v);
    bias_sums[v] = _mm512_loadu_ps(acc + cols + 16 * v);
  }
  for (int64_t r = begin; r < end; ++r) {
    const __m512 m = _mm512_set1_ps(mean[r]), s = _mm512_set1_ps(rstd[r]);
    for (int v = 0; v < kVectors; ++v) {
      const __m512 g = _mm512_loadu_ps(dy + r * cols + 16 * v);
      const __m512 xhat =
          _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + r * cols + 16 * v), m), s);
      weight_sums[v] = _mm512_add_ps(weight_sums[v], _mm512_mul_ps(g, xhat));
      bias_sums[v] = _mm512_add_ps(bias_sums[v], g);
    }
  }
  for (int v = 0; v < kVectors; ++v) {
    _mm512_storeu_ps(acc + 16 * v, weight_sums[v]);
    _mm512_storeu_ps(acc + cols + 16 * v, bias_sums[v]);
  }
}
#endif

}  // namespace

void layernorm_forward(const float* x, const float* weight, const float* bias, float* y,
                       float* mean, float* rstd, int64_t rows, int64_t cols) {
  // In chunks of 64 rows, as the backward's reduction, so that every block of 16 but the last
  // is whole whatever the thread count.
  parallel_indices((rows + kRowsPerTask - 1) / kRowsPerTask, [&](int64_t chunk) {
    const int64_t begin = chunk * kRowsPerTask;
    rows_in_blocks(
        begin, std::min(rows, begin + kRowsPerTask), cols,
        [&]([[maybe_unused]] int64_t r) {
#if defined(__AVX512F__)
          layernorm_forward_block(x + r * cols, weight, bias, y + r * cols, mean + r, rstd + r,
                                  cols);
#endif
        },
        [&](int64_t r) {
          layernorm_forward_row(x + r * cols, weight, bias, y + r * cols, mean[r], rstd[r], cols);
        });
  });
}

void layernorm_backward(const float* dy, const float* x, const float* weight, const float* mean,
                        const float* rstd, float* dx, float* dweight, float* dbias, int64_t rows,
                        int64_t cols) {
  // dx row by row, and dweight and dbias side by side in one deterministic reduction, in one pass
  // over each chunk of rows while they are in cache.
  std::vector<float> sums(static_cast<size_t>(2 * cols), 0.0f);
  deterministic_row_sum(rows, 2 * cols, sums.data(), [&](int64_t begin, int64_t end, float* acc) {
    rows_in_blocks(
        begin, end, cols,
        [&]([[maybe_unused]] int64_t r) {
#if defined(__AVX512F__)
          layernorm_backward_block(dy + r * cols, x + r * cols, weight, mean + r, rstd + r,
                                   dx + r * cols, cols);
#endif
        },
        [&](int64_t r) {
          layernorm_backward_row(dy + r * cols, x + r * cols, weight, mean[r], rstd[r],
                                 dx + r * cols, cols);
        });
#if defined(__AVX512F__)
    switch (cols) {
      case 16: add_parameter_gradients_in_registers<1>(dy, x, mean, rstd, begin, end, acc); return;
      case 32: add_parameter_gradients_in_registers<2>(dy, x, mean, rstd, begin, end, acc); return;
      case 64: add_parameter_gradients_in_registers<4>(dy, x, mean, rstd, begin, end, acc); return;
      default: break;
    }
#endif
    add_parameter_gradients(dy, x, mean, rstd, begin, end, cols, acc);
  });
  for (int64_t c = 0; c < cols; ++c) {
    dweight[c] += sums[c];
    dbias[c] += sums[cols + c];
  }
}

}  // namespace vitsweep::engine
