// One trial's thread budget. oneDNN runs on OpenMP and our kernels on TBB; both pools get the same
// size and take turns (oneDNN is only called from the main thread), so neither oversubscribes.
#pragma once

#include <tbb/global_control.h>

#include <memory>

namespace vitsweep::engine {

// The threads a trial asking for `threads` gets: threads <= 0 means every hardware thread.
int thread_count(int threads);

class ThreadBudget {
 public:
  // threads <= 0: every hardware thread.
  explicit ThreadBudget(int threads);
  int threads() const { return threads_; }

 private:
  int threads_;
  std::unique_ptr<tbb::global_control> tbb_limit_;
};

}  // namespace vitsweep::engine
