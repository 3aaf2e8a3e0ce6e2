// tile_gemm, the fused attention's micro-GEMM, splits C into register blocks of up to 6, 8 or 12
// rows (by the panel's width) as evenly as the rows allow. Every row count from 1 to 40 is split
// differently, so each is checked: every C element within float32 rounding of a float64 product,
// A read through both of its strides, C added to when asked; and each row of C has the bits it
// gets when computed alone, as the header promises (results do not depend on the blocking).
#include "engine/tile_gemm.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "gradient_check.hpp"

namespace vitsweep::engine {
namespace {

using testing::fill_normal;

struct Case {
  int64_t rows, cols, depth;
  bool transposed_a, accumulate;
};

// C as tile_gemm leaves it, for A stored row-major ([rows, depth]) or transposed ([depth, rows]).
std::vector<float> run(const Case& c, const std::vector<float>& a_storage,
                       const std::vector<float>& b, int64_t ldb, std::vector<float> c_start,
                       int64_t ldc) {
  const StridedMatrix a = c.transposed_a ? StridedMatrix{a_storage.data(), 1, c.rows}
                                         : StridedMatrix{a_storage.data(), c.depth, 1};
  tile_gemm(c.rows, c.cols, c.depth, a, b.data(), ldb, c_start.data(), ldc, c.accumulate);
  return c_start;
}

TEST(TileGemm, EveryRowCountMatchesAFloat64ProductAndEachRowHasItsBitsAlone) {
  for (const int64_t cols : {5, 16, 17, 33, 48, 64, 70}) {  // panels of 1 to 4 vectors, and two
    for (const int64_t depth : {1, 16, 49}) {
      for (int64_t rows = 1; rows <= 40; ++rows) {
        for (const bool transposed_a : {false, true}) {
          const Case c{rows, cols, depth, transposed_a, /*accumulate=*/rows % 2 == 0};
          SCOPED_TRACE(::testing::Message() << rows << "x" << depth << " by " << depth << "x"
                                            << cols << (transposed_a ? ", A transposed" : "")
                                            << (c.accumulate ? ", accumulating" : ""));
          const int64_t ldb = cols + 3, ldc = cols + 5;  // strides wider than the columns
          std::vector<float> a(static_cast<size_t>(rows * depth)), b(depth * ldb);
          std::vector<float> c_start(static_cast<size_t>(rows * ldc));
          fill_normal(a.data(), rows * depth, 1.0, 7 + rows);
          fill_normal(b.data(), depth * ldb, 1.0, 8 + cols);
          fill_normal(c_start.data(), rows * ldc, 1.0, 9 + depth);
          const std::vector<float> got = run(c, a, b, ldb, c_start, ldc);

          int64_t wrong = 0, padding_touched = 0, differing_rows = 0;
          for (int64_t r = 0; r < rows; ++r) {
            for (int64_t j = 0; j < ldc; ++j) {
              const float value = got[r * ldc + j];
              if (j >= cols) {  // columns beyond cols are neither read nor written
                padding_touched += value != c_start[r * ldc + j];
                continue;
              }
              double want = c.accumulate ? c_start[r * ldc + j] : 0.0, magnitude = std::abs(want);
              for (int64_t t = 0; t < depth; ++t) {
                const double at = transposed_a ? a[t * rows + r] : a[r * depth + t];
                want += at * b[t * ldb + j];
                magnitude += std::abs(at * b[t * ldb + j]);
              }
              wrong += std::abs(value - want) > 1e-6 * (depth + 1) * (1 + magnitude);
            }
            // Row r computed on its own: a one-row C, A's row r (or column r) alone.
            const Case alone{1, cols, depth, false, c.accumulate};
            std::vector<float> a_row(static_cast<size_t>(depth));
            for (int64_t t = 0; t < depth; ++t) {
              a_row[t] = transposed_a ? a[t * rows + r] : a[r * depth + t];
            }
            const std::vector<float> row_start(c_start.begin() + r * ldc,
                                               c_start.begin() + (r + 1) * ldc);
            const std::vector<float> row = run(alone, a_row, b, ldb, row_start, ldc);
            differing_rows +=
                std::memcmp(row.data(), got.data() + r * ldc, cols * sizeof(float)) != 0;
          }
          EXPECT_EQ(wrong, 0);
          EXPECT_EQ(padding_touched, 0);
          EXPECT_EQ(differing_rows, 0);
        }
      }
    }
  }
}

}  // namespace
}  // namespace vitsweep::engine
