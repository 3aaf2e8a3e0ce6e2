// main() for every test program. Tests run one thread per process unless a test asks for more
// (support/threads.hpp): ctest runs test processes side by side (-j), and two 2-thread OpenMP
// teams on 2 cores wait on the scheduler at every barrier (a tiny forward pass goes from 33 us to
// 30 ms). VITSWEEP_TEST_THREADS=N starts every test on N TBB and N OpenMP threads, =N,M on N TBB
// and M OpenMP threads (scripts/test.sh --tsan runs 2,1).
//
// The decompressed copies of data files (data/decompressed_cache.hpp) are off for the tests and
// the sweeps they start, unless VITSWEEP_CACHE_DIR says otherwise: tests copy data files into
// temporary folders, and each such file would leave a copy in the user's cache. The copies' own
// tests turn them on, in a folder of their own.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "support/threads.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::setenv("VITSWEEP_CACHE_DIR", "off", /*overwrite=*/0);
  const char* requested = std::getenv("VITSWEEP_TEST_THREADS");
  const int tbb_threads = requested ? std::max(1, std::atoi(requested)) : 1;
  const char* comma = requested ? std::strchr(requested, ',') : nullptr;
  const int openmp_threads = comma ? std::max(1, std::atoi(comma + 1)) : tbb_threads;
  vitsweep::testing::set_test_threads(tbb_threads, openmp_threads);
  return RUN_ALL_TESTS();
}
