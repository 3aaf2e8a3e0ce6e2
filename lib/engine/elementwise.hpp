// Element-wise kernels (TBB): activations forward and backward, products and sums.
#pragma once

#include <cstdint>

#include "engine/activations.hpp"

namespace vitsweep::engine {

// y = act(x)
void activation_forward(Activation act, const float* x, float* y, int64_t n);
// dx = dy * act'(x), or dx += ... when accumulate
void activation_backward(Activation act, const float* x, const float* dy, float* dx, int64_t n,
                         bool accumulate = false);
// out = a * b
void multiply(const float* a, const float* b, float* out, int64_t n);
// out = a + b
void add(const float* a, const float* b, float* out, int64_t n);
// out[r, c] = sum over rows of x[r, c]; deterministic for any thread count
void column_sums(const float* x, int64_t rows, int64_t cols, float* out);
// Sum of squares in double (for gradient norms); deterministic.
double sum_of_squares(const float* x, int64_t n);

}  // namespace vitsweep::engine
