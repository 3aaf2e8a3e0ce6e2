// How our own kernels use TBB. Results never depend on the number of threads: element-wise work
// is split freely, and reductions are summed in fixed chunks that are combined in a fixed order.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace vitsweep::engine {

// fn(begin, end) over [0, n) in parallel; `grain` is the smallest piece worth a task.
template <typename Fn>
void parallel_ranges(int64_t n, int64_t grain, Fn&& fn) {
  if (n <= grain) {
    if (n > 0) fn(int64_t{0}, n);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, grain),
                    [&](const tbb::blocked_range<int64_t>& r) { fn(r.begin(), r.end()); });
}

// Rows summed in chunks of this many; the chunking, and hence the rounding, is thread-independent.
constexpr int64_t kReductionChunkRows = 64;

// out[c] += sum over rows r of term(r) (each term writes `width` partial sums). `partial(begin,
// end, acc)` adds rows [begin, end) into acc[0..width); chunks are then summed in order, and the
// total added to out.
template <typename Partial>
void deterministic_row_sum(int64_t rows, int64_t width, float* out, Partial&& partial) {
  const int64_t chunks = (rows + kReductionChunkRows - 1) / kReductionChunkRows;
  std::vector<float> partials(static_cast<size_t>(std::max<int64_t>(chunks, 1) * width), 0.0f);
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, chunks, 1),
                    [&](const tbb::blocked_range<int64_t>& r) {
                      for (int64_t chunk = r.begin(); chunk < r.end(); ++chunk) {
                        const int64_t begin = chunk * kReductionChunkRows;
                        const int64_t end = std::min(rows, begin + kReductionChunkRows);
                        partial(begin, end, partials.data() + chunk * width);
                      }
                    });
  float* total = partials.data();  // chunk 0's sums, then the others added to them in order
  for (int64_t chunk = 1; chunk < chunks; ++chunk) {
    const float* p = partials.data() + chunk * width;
    for (int64_t c = 0; c < width; ++c) total[c] += p[c];
  }
  for (int64_t c = 0; c < width; ++c) out[c] += total[c];
}

}  // namespace vitsweep::engine
