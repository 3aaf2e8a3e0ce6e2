// Element-wise kernels (TBB): activations forward and backward, products and sums.
#pragma once

#include <cstdint>

#include "engine/activations.hpp"

namespace vitsweep::engine {

// y = act(x), and x overwritten with act'(x) for the backward (which multiplies by it): one pass
// that evaluates GELU's exp once per element, where a backward from x would evaluate it again.
void activation_forward_keeping_derivative(Activation act, float* x_then_derivative, float* y,
                                           int64_t n);
// out = a * b
void multiply(const float* a, const float* b, float* out, int64_t n);
// out = a + b
void add(const float* a, const float* b, float* out, int64_t n);
// out[c] += sum over rows r of x[r, c]; deterministic for any thread count
void add_column_sums(const float* x, int64_t rows, int64_t cols, float* out);
// x *= by element-wise, then out[c] += sum over rows r of x[r, c]: a gradient scaled by an
// activation's derivative and its bias gradient in one pass (same bits as the two apart).
void multiply_then_add_column_sums(float* x, const float* by, int64_t rows, int64_t cols,
                                   float* out);
// x = 0, for the gradient buffers a backward adds into.
void set_zero(float* x, int64_t n);
// Sum of squares in double (for gradient norms); deterministic.
double sum_of_squares(const float* x, int64_t n);

}  // namespace vitsweep::engine
