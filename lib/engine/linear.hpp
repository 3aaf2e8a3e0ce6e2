// A linear layer in PyTorch layout: y[M, out] = x[M, in] W^T + b with W [out, in].
#pragma once

#include <cstdint>

#include "engine/matmul.hpp"

namespace vitsweep::engine {

// y = x W^T + b (bias may be nullptr); with accumulate, y += x W^T + b.
void linear_forward(MatmulRunner& mm, const float* x, const float* weight, const float* bias,
                    float* y, int64_t rows, int64_t in, int64_t out, bool accumulate = false);

// dx += dy W (dx may be nullptr when not needed), dweight += dy^T x, dbias += column sums of dy
// (dbias may be nullptr).
void linear_backward(MatmulRunner& mm, const float* dy, const float* x, const float* weight,
                     float* dx, float* dweight, float* dbias, int64_t rows, int64_t in,
                     int64_t out);

}  // namespace vitsweep::engine
