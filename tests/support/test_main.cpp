// main() for every test program. Tests run one thread per process unless a test asks for more:
// ctest runs test processes side by side (-j), and two 2-thread OpenMP teams on 2 cores wait on
// the scheduler at every barrier (a tiny forward pass goes from 33 us to 30 ms).
#include <gtest/gtest.h>
#include <omp.h>
#include <tbb/global_control.h>

#include <cstdlib>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const char* requested = std::getenv("VITSWEEP_TEST_THREADS");
  const int threads = requested ? std::max(1, std::atoi(requested)) : 1;
  omp_set_num_threads(threads);
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                            static_cast<size_t>(threads));
  return RUN_ALL_TESTS();
}
