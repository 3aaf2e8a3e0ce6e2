// Element-wise kernels (TBB): activations forward and backward, products and sums.
#pragma once

#include <cstdint>

#include "engine/activations.hpp"

namespace vitsweep::engine {

// y = act(x)
void activation_forward(Activation act, const float* x, float* y, int64_t n);
// d *= act'(x): a backward's own intermediate gradient, scaled in place.
void scale_by_derivative(Activation act, const float* x, float* d, int64_t n);
// out = a * b
void multiply(const float* a, const float* b, float* out, int64_t n);
// out = a + b
void add(const float* a, const float* b, float* out, int64_t n);
// out[c] += sum over rows r of x[r, c]; deterministic for any thread count
void add_column_sums(const float* x, int64_t rows, int64_t cols, float* out);
// x = 0, for the gradient buffers a backward adds into.
void set_zero(float* x, int64_t n);
// Sum of squares in double (for gradient norms); deterministic.
double sum_of_squares(const float* x, int64_t n);

}  // namespace vitsweep::engine
