// How our own kernels use TBB. Results never depend on the number of threads: element-wise work
// is split freely, and reductions are summed in fixed chunks that are combined in a fixed order.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "parallel/loops.hpp"

namespace vitsweep::engine {

// Rows summed in chunks of this many; the chunking, and hence the rounding, is thread-independent.
constexpr int64_t kReductionChunkRows = 64;

// out[c] += sum over rows r of term(r) (each term writes `width` partial sums). `partial(begin,
// end, acc)` adds rows [begin, end) into acc[0..width); chunks are then summed in order, and the
// total added to out.
template <typename Partial>
void deterministic_row_sum(int64_t rows, int64_t width, float* out, Partial&& partial) {
  const int64_t chunks = (rows + kReductionChunkRows - 1) / kReductionChunkRows;
  std::vector<float> partials(static_cast<size_t>(std::max<int64_t>(chunks, 1) * width), 0.0f);
  parallel_indices(chunks, [&](int64_t chunk) {
    const int64_t begin = chunk * kReductionChunkRows;
    const int64_t end = std::min(rows, begin + kReductionChunkRows);
    partial(begin, end, partials.data() + chunk * width);
  });
  float* total = partials.data();  // chunk 0's sums, then the others added to them in order
  for (int64_t chunk = 1; chunk < chunks; ++chunk) {
    const float* p = partials.data() + chunk * width;
    for (int64_t c = 0; c < width; ++c) total[c] += p[c];
  }
  for (int64_t c = 0; c < width; ++c) out[c] += total[c];
}

}  // namespace vitsweep::engine
