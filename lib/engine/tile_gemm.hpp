// A small register-blocked GEMM for the tiles of the fused attention: C (+)= A B with at most a few
// hundred rows, columns and depth, called from inside TBB tasks (where oneDNN must not run: each
// TBB thread would start its own OpenMP team and the cores would be oversubscribed).
//
// A is read one element at a time (broadcast), so it may have any strides: a row-major tile, its
// transpose, or a head's rows inside a [B, N, H*hd] buffer. B and C are read as rows of contiguous
// columns. With AVX-512 the micro-kernel keeps an MR x 16*NV block of C in registers; elsewhere a
// plain C++ loop the compiler vectorises does the same sums.
#pragma once

#include <cstdint>

namespace vitsweep::engine {

// A(r, t) = data[r * row_stride + t * col_stride].
struct StridedMatrix {
  const float* data;
  int64_t row_stride;
  int64_t col_stride;
};

// C[rows, cols] = A[rows, depth] B[depth, cols], or C += ... when `accumulate`. Row t of B starts
// at b + t * ldb, row r of C at c + r * ldc; columns beyond `cols` are neither read nor written.
// Each C element is summed over t in increasing order, so results do not depend on the blocking.
void tile_gemm(int64_t rows, int64_t cols, int64_t depth, StridedMatrix a, const float* b,
               int64_t ldb, float* c, int64_t ldc, bool accumulate);

}  // namespace vitsweep::engine
