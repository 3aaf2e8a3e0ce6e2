#include "engine/threads.hpp"

#include <omp.h>

#include <thread>

namespace vitsweep::engine {

int thread_count(int threads) {
  return threads > 0 ? threads
                     : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

ThreadBudget::ThreadBudget(int threads) {
  threads_ = thread_count(threads);
  omp_set_num_threads(threads_);
  tbb_limit_ = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                     static_cast<size_t>(threads_));
}

}  // namespace vitsweep::engine
