// Every GEMM in the engine goes through matmul(): a oneDNN matmul primitive per distinct shape,
// layout and option set, created once (JIT costs ~1.5 ms) and reused from a cache afterwards.
// Operands are strided views, so transposes and per-head views of [B, N, H*hd] cost nothing.
//
// Precision::bf16 (the `precision` config key): A and B are rounded to bf16 by a oneDNN reorder
// (any strides in, plain bf16 out) and multiplied by a bf16 matmul that accumulates and writes
// f32. Everything outside the GEMMs (master weights, activations, optimizer state) stays f32.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "engine/buffer.hpp"

namespace vitsweep::engine {

enum class Precision { f32, bf16 };
// "f32" or "bf16".
Precision precision_from_name(const std::string& name);
// Whether oneDNN has a bf16 matmul for this CPU (and ONEDNN_MAX_CPU_ISA).
bool bf16_matmul_available();

// A strided view: a matrix [M, K] (rank 2) or a batch of matrices [B, H, M, K] (rank 4), of
// float (an output the matmul writes: View) or const float (an operand it only reads: ConstView).
// A View converts to a ConstView.
template <typename T>
struct StridedView {
  T* data = nullptr;
  int rank = 2;
  std::array<int64_t, 4> dims{};
  std::array<int64_t, 4> strides{};

  int64_t rows() const { return dims[rank - 2]; }
  int64_t cols() const { return dims[rank - 1]; }
  // The transpose of every matrix in the view (swaps the last two dims and strides).
  StridedView t() const {
    StridedView v = *this;
    std::swap(v.dims[rank - 2], v.dims[rank - 1]);
    std::swap(v.strides[rank - 2], v.strides[rank - 1]);
    return v;
  }
  operator StridedView<const float>() const requires(!std::is_const_v<T>) {
    return {data, rank, dims, strides};
  }
};
using View = StridedView<float>;
using ConstView = StridedView<const float>;

// Row-major [rows, cols].
template <typename T>
StridedView<T> matrix(T* data, int64_t rows, int64_t cols) {
  return {data, 2, {rows, cols, 0, 0}, {cols, 1, 0, 0}};
}
// [B, H, N, hd] view of a row-major [B, N, H*hd] buffer: heads become batch, no copy.
template <typename T>
StridedView<T> heads(T* data, int64_t batch, int64_t tokens, int64_t num_heads, int64_t head_dim) {
  const int64_t width = num_heads * head_dim;
  return {data, 4, {batch, num_heads, tokens, head_dim}, {tokens * width, head_dim, width, 1}};
}
// Row-major [B, H, M, K].
template <typename T>
StridedView<T> batched(T* data, int64_t batch, int64_t num_heads, int64_t rows, int64_t cols) {
  return {data, 4, {batch, num_heads, rows, cols}, {num_heads * rows * cols, rows * cols, cols, 1}};
}

struct MatmulOptions {
  const float* bias = nullptr;  // [cols of C], added to every row
  float scale = 1.0f;           // C = scale * A.B (+ bias)
  bool accumulate = false;      // C += ... instead of C = ...
};

// Owns the oneDNN engine, stream and the primitive cache. Call from one thread: oneDNN
// parallelises each call internally with its OpenMP pool.
class MatmulRunner {
 public:
  explicit MatmulRunner(Precision precision = Precision::f32);
  ~MatmulRunner();

  Precision precision() const { return precision_; }

  // C = scale * A.B (+ bias) (+ C when accumulating). Shapes must agree: A [.., M, K], B [.., K,
  // N], C [.., M, N]. A column-major C (a transposed rank-2 view, without bias) is
  // computed row-major in a scratch and then written transposed: oneDNN 2.6 has only its
  // reference path for such a destination (about 0.1 GF/s measured).
  void run(const View& c, const ConstView& a, const ConstView& b,
           const MatmulOptions& options = {});

  // The oneDNN implementation chosen for each distinct matmul so far (e.g. "brg:avx512_core"),
  // keyed by a readable shape description: lets tests assert no reference path is used.
  std::vector<std::pair<std::string, std::string>> implementations() const;
  size_t primitives_created() const { return cache_.size(); }

  dnnl::engine& engine() { return engine_; }
  dnnl::stream& stream() { return stream_; }

 private:
  struct Entry;
  Entry& lookup(const ConstView& c, const ConstView& a, const ConstView& b,
                const MatmulOptions& options);

  void run_column_major(const View& c, const ConstView& a, const ConstView& b,
                        const MatmulOptions& options);

  Precision precision_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  FloatBuffer low_a_, low_b_;  // bf16 copies of A and B (bf16 precision), grown as needed
  FloatBuffer row_major_c_;    // a column-major C computed row-major, grown as needed
  std::map<std::vector<int64_t>, std::unique_ptr<Entry>> cache_;
  std::vector<int64_t> key_;  // lookup()'s key, kept to reuse its allocation
};

}  // namespace vitsweep::engine
