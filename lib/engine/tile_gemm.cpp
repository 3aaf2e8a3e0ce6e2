#include "engine/tile_gemm.hpp"

#include <algorithm>
#include <utility>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace vitsweep::engine {
namespace {

constexpr int kLanes = 16;        // floats per AVX-512 vector
constexpr int kPanelVectors = 4;  // columns per panel: 4 vectors = 64 floats

// Rows per register block for a panel of NV vectors: MR * NV accumulators plus NV rows of B and
// one broadcast must fit the 32 vector registers.
template <int NV>
constexpr int rows_per_block() {
  return NV <= 2 ? 12 : NV == 3 ? 8 : 6;
}

#if defined(__AVX512F__)

// C[MR, cols] (+)= A[MR, depth] B[depth, cols] for cols <= 16 NV, the block kept in registers.
template <int MR, int NV>
void micro_gemm(int64_t depth, StridedMatrix a, const float* b, int64_t ldb, float* c, int64_t ldc,
                int cols, bool accumulate) {
  __mmask16 mask[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    const int left = cols - v * kLanes;
    mask[v] = left >= kLanes ? __mmask16(0xFFFF) : __mmask16((1u << std::max(left, 0)) - 1u);
  }
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      acc[r][v] = accumulate ? _mm512_maskz_loadu_ps(mask[v], c + r * ldc + v * kLanes)
                             : _mm512_setzero_ps();
    }
  }
  const float* a_row[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) a_row[r] = a.data + r * a.row_stride;
  for (int64_t t = 0; t < depth; ++t) {
    __m512 bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_maskz_loadu_ps(mask[v], b + t * ldb + v * kLanes);
    const int64_t at = t * a.col_stride;
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(a_row[r][at]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      _mm512_mask_storeu_ps(c + r * ldc + v * kLanes, mask[v], acc[r][v]);
    }
  }
}

#else

// Portable fallback: the same sums in the same order, vectorised by the compiler where it can.
template <int MR, int NV>
void micro_gemm(int64_t depth, StridedMatrix a, const float* b, int64_t ldb, float* c, int64_t ldc,
                int cols, bool accumulate) {
  for (int r = 0; r < MR; ++r) {
    float acc[kLanes * NV] = {};
    if (accumulate) std::copy(c + r * ldc, c + r * ldc + cols, acc);
    const float* a_row = a.data + r * a.row_stride;
    for (int64_t t = 0; t < depth; ++t) {
      const float at = a_row[t * a.col_stride];
      const float* b_row = b + t * ldb;
      for (int j = 0; j < cols; ++j) acc[j] += at * b_row[j];
    }
    std::copy(acc, acc + cols, c + r * ldc);
  }
}

#endif

// Calls micro_gemm<rows, NV> for a runtime rows in [1, MR]: one switch over the instantiations.
template <int NV, int... R>
void micro_gemm_rows(int rows, std::integer_sequence<int, R...>, int64_t depth, StridedMatrix a,
                     const float* b, int64_t ldb, float* c, int64_t ldc, int cols,
                     bool accumulate) {
  ((rows == R + 1 ? micro_gemm<R + 1, NV>(depth, a, b, ldb, c, ldc, cols, accumulate) : void()),
   ...);
}

// One column panel (cols <= 16 NV) in register blocks of at most MR rows, as even as they come:
// 49 rows at MR = 12 are blocks of 9, 10, 10, 10 and 10 rather than four of 12 and one of 1, whose
// lone chain of FMAs waits out each one's latency (the fused attention at L = 49, head dim 16, 1
// thread: 1.5-3% faster). Which block a row falls in does not change its sums.
template <int NV>
void panel_gemm(int64_t rows, int cols, int64_t depth, StridedMatrix a, const float* b, int64_t ldb,
                float* c, int64_t ldc, bool accumulate) {
  constexpr int MR = rows_per_block<NV>();
  const int64_t blocks = (rows + MR - 1) / MR;
  int64_t r = 0;
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t block_rows = (rows - r) / (blocks - block);  // the longer blocks come last
    const StridedMatrix at{a.data + r * a.row_stride, a.row_stride, a.col_stride};
    if (block_rows == MR) {
      micro_gemm<MR, NV>(depth, at, b, ldb, c + r * ldc, ldc, cols, accumulate);
    } else {
      micro_gemm_rows<NV>(static_cast<int>(block_rows), std::make_integer_sequence<int, MR>{},
                          depth, at, b, ldb, c + r * ldc, ldc, cols, accumulate);
    }
    r += block_rows;
  }
}

}  // namespace

void tile_gemm(int64_t rows, int64_t cols, int64_t depth, StridedMatrix a, const float* b,
               int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  constexpr int64_t panel_width = kPanelVectors * kLanes;
  for (int64_t col = 0; col < cols; col += panel_width) {
    const int width = static_cast<int>(std::min(panel_width, cols - col));
    const float* b_panel = b + col;
    float* c_panel = c + col;
    switch ((width + kLanes - 1) / kLanes) {
      case 1: panel_gemm<1>(rows, width, depth, a, b_panel, ldb, c_panel, ldc, accumulate); break;
      case 2: panel_gemm<2>(rows, width, depth, a, b_panel, ldb, c_panel, ldc, accumulate); break;
      case 3: panel_gemm<3>(rows, width, depth, a, b_panel, ldb, c_panel, ldc, accumulate); break;
      default: panel_gemm<4>(rows, width, depth, a, b_panel, ldb, c_panel, ldc, accumulate); break;
    }
  }
}

}  // namespace vitsweep::engine
