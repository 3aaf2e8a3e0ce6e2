// LayerNorm over the last dimension of a [rows, cols] matrix, eps 1e-6 (as big_vision and timm).
// Used for the blocks' norms, the final norm, and qk-norm (rows = tokens x heads, cols = head_dim).
#pragma once

#include <cstdint>

namespace vitsweep::engine {

constexpr float kLayerNormEps = 1e-6f;

// y = (x - mean) * rstd * weight + bias; saves mean and rstd per row for the backward.
void layernorm_forward(const float* x, const float* weight, const float* bias, float* y,
                       float* mean, float* rstd, int64_t rows, int64_t cols);

// dx += d(loss)/dx; dweight, dbias += their sums over rows. Deterministic for any thread count.
void layernorm_backward(const float* dy, const float* x, const float* weight, const float* mean,
                        const float* rstd, float* dx, float* dweight, float* dbias, int64_t rows,
                        int64_t cols);

}  // namespace vitsweep::engine
