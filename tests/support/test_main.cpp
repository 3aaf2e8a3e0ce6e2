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
//
// A suite whose SetUpTestSuite fails (an exception, a fatal assertion) ends the program with
// status 1 before its first test. Google Test would mark the suite's tests "[  SKIPPED ]", and
// ctest's gtest_discover_tests reads that line as a skip whatever the exit status: the shared
// runs of a suite could break and ctest still report no failure.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "support/threads.hpp"

namespace {

class FailedSuiteSetUpEndsTheProgram : public ::testing::EmptyTestEventListener {
  void OnTestStart(const ::testing::TestInfo& test) override {
    const ::testing::TestSuite* suite = ::testing::UnitTest::GetInstance()->current_test_suite();
    if (suite == nullptr || !suite->ad_hoc_test_result().Failed()) return;
    std::printf("SetUpTestSuite of %s failed (above): %s not run; exiting with status 1\n",
                suite->name(), test.name());
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(1);
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new FailedSuiteSetUpEndsTheProgram);
  ::setenv("VITSWEEP_CACHE_DIR", "off", /*overwrite=*/0);
  const char* requested = std::getenv("VITSWEEP_TEST_THREADS");
  const int tbb_threads = requested ? std::max(1, std::atoi(requested)) : 1;
  const char* comma = requested ? std::strchr(requested, ',') : nullptr;
  const int openmp_threads = comma ? std::max(1, std::atoi(comma + 1)) : tbb_threads;
  vitsweep::testing::set_test_threads(tbb_threads, openmp_threads);
  return RUN_ALL_TESTS();
}
