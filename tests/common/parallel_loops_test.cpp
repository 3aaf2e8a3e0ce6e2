// parallel_ranges: every index once, and on a one-thread budget one call on the calling thread
// (no TBB tasks at all, which cost a trial on one thread about 3% of its time).
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "parallel/loops.hpp"
#include "support/threads.hpp"

namespace vitsweep {
namespace {

struct Calls {
  std::mutex mutex;
  std::vector<std::pair<int64_t, int64_t>> ranges;
  std::vector<std::thread::id> threads;

  void record(int64_t begin, int64_t end) {
    std::lock_guard<std::mutex> lock(mutex);
    ranges.emplace_back(begin, end);
    threads.push_back(std::this_thread::get_id());
  }
  // The ranges, sorted, tile [0, n) with neither gaps nor overlaps.
  void expect_tiling(int64_t n) {
    std::sort(ranges.begin(), ranges.end());
    int64_t next = 0;
    for (const auto& [begin, end] : ranges) {
      EXPECT_EQ(begin, next);
      EXPECT_LT(begin, end);
      next = end;
    }
    EXPECT_EQ(next, n);
  }
};

TEST(ParallelRanges, OneThreadRunsTheWholeRangeInOneCallOnTheCallingThread) {
  testing::TestThreads one(1);  // also under scripts/test.sh --tsan, which starts tests on two
  Calls calls;
  parallel_ranges(100000, 16, [&](int64_t begin, int64_t end) { calls.record(begin, end); });
  ASSERT_EQ(calls.ranges.size(), 1u);
  EXPECT_EQ(calls.ranges[0], std::make_pair(int64_t{0}, int64_t{100000}));
  EXPECT_EQ(calls.threads[0], std::this_thread::get_id());
}

TEST(ParallelRanges, EmptyRangeCallsNothing) {
  int calls = 0;
  parallel_ranges(0, 16, [&](int64_t, int64_t) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(ParallelRanges, TwoThreadsSplitTheRangeIntoPiecesThatTileIt) {
  testing::TestThreads two(2);
  const int most = testing::run_until_parallel([] {
    Calls calls;
    parallel_ranges(100000, 16, [&](int64_t begin, int64_t end) { calls.record(begin, end); });
    EXPECT_GT(calls.ranges.size(), 1u);
    calls.expect_tiling(100000);
  });
  EXPECT_EQ(most, 2);
}

}  // namespace
}  // namespace vitsweep
