#include "engine/elementwise.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/parallel.hpp"

namespace vitsweep::engine {

namespace {
constexpr int64_t kGrain = 16384;
}

Activation activation_from_name(std::string_view name) {
  for (Activation a :
       {Activation::relu, Activation::relu2, Activation::gelu, Activation::softplus,
        Activation::identity, Activation::relu6, Activation::sigmoid, Activation::silu}) {
    if (activation_name(a) == name) return a;
  }
  throw std::invalid_argument("unknown activation: " + std::string(name));
}

std::string_view activation_name(Activation activation) {
  switch (activation) {
    case Activation::relu: return "relu";
    case Activation::relu2: return "relu2";
    case Activation::gelu: return "gelu";
    case Activation::softplus: return "softplus";
    case Activation::identity: return "identity";
    case Activation::relu6: return "relu6";
    case Activation::sigmoid: return "sigmoid";
    case Activation::silu: return "silu";
  }
  return "?";
}

void activation_forward_keeping_derivative(Activation act, float* x_then_derivative, float* y,
                                           int64_t n) {
  with_activation(act, [&](auto f) {
    using F = decltype(f);
    parallel_ranges(n, kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        float derivative;
        y[i] = value_and_derivative<F>(x_then_derivative[i], derivative);
        x_then_derivative[i] = derivative;
      }
    });
  });
}

void multiply(const float* a, const float* b, float* out, int64_t n) {
  parallel_ranges(n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = a[i] * b[i];
  });
}

void add(const float* a, const float* b, float* out, int64_t n) {
  parallel_ranges(n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = a[i] + b[i];
  });
}

void add_column_sums(const float* x, int64_t rows, int64_t cols, float* out) {
  // Narrow rows (up to 64 columns) go 16 columns at a time into a local accumulator that stays in
  // a register across the rows: acc might alias x as far as the compiler knows, so it would be
  // stored and reloaded every row, and with one or two vectors a row each add would wait for the
  // last one's store (measured, 1 thread: 2.3x faster at 16 columns, 2x at 32, 1.1x at 64; slower
  // at 128 and more, where the rows' many vectors hide that wait). Each column still adds its
  // rows in order, so the bits do not change.
  constexpr int64_t kBlock = 16, kNarrow = 64;
  deterministic_row_sum(rows, cols, out, [&](int64_t begin, int64_t end, float* acc) {
    int64_t c0 = 0;
    for (; cols <= kNarrow && c0 + kBlock <= cols; c0 += kBlock) {
      float sums[kBlock];
      std::copy_n(acc + c0, kBlock, sums);
      for (int64_t r = begin; r < end; ++r) {
        const float* row = x + r * cols + c0;
        for (int64_t c = 0; c < kBlock; ++c) sums[c] += row[c];
      }
      std::copy_n(sums, kBlock, acc + c0);
    }
    for (int64_t r = begin; r < end; ++r) {
      for (int64_t c = c0; c < cols; ++c) acc[c] += x[r * cols + c];
    }
  });
}

void multiply_then_add_column_sums(float* x, const float* by, int64_t rows, int64_t cols,
                                   float* out) {
  deterministic_row_sum(rows, cols, out, [&](int64_t begin, int64_t end, float* acc) {
    for (int64_t r = begin; r < end; ++r) {
      float* __restrict row = x + r * cols;
      const float* __restrict row_by = by + r * cols;
      for (int64_t c = 0; c < cols; ++c) {
        row[c] *= row_by[c];
        acc[c] += row[c];
      }
    }
  });
}

void set_zero(float* x, int64_t n) {
  parallel_ranges(n, kGrain,
                  [&](int64_t begin, int64_t end) { std::fill(x + begin, x + end, 0.0f); });
}

double sum_of_squares(const float* x, int64_t n) {
  // Fixed chunks summed in order: the same bits for any thread count.
  constexpr int64_t kChunk = 1 << 14;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
  parallel_ranges(chunks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      double s = 0;
      const int64_t stop = std::min(n, (c + 1) * kChunk);
      for (int64_t i = c * kChunk; i < stop; ++i) s += static_cast<double>(x[i]) * x[i];
      partial[c] = s;
    }
  });
  double total = 0;
  for (double p : partial) total += p;
  return total;
}

}  // namespace vitsweep::engine
