// A linear layer in PyTorch layout: y[M, out] = x[M, in] W^T + b with W [out, in].
#pragma once

#include <cstdint>

#include "engine/matmul.hpp"

namespace vitsweep::engine {

// y = x W^T + b (bias may be nullptr); with accumulate, y += x W^T + b.
void linear_forward(MatmulRunner& mm, const float* x, const float* weight, const float* bias,
                    float* y, int64_t rows, int64_t in, int64_t out, bool accumulate = false);

// dweight = dy^T x and dbias = column sums of dy (both overwritten; dbias may be nullptr);
// dx = dy W, or dx += dy W with accumulate_dx (dx may be nullptr when not needed).
void linear_backward(MatmulRunner& mm, const float* dy, const float* x, const float* weight,
                     float* dx, float* dweight, float* dbias, int64_t rows, int64_t in,
                     int64_t out, bool accumulate_dx = false);

}  // namespace vitsweep::engine
