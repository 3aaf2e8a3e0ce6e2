// Thread counts in tests. Every test process starts on one TBB and one OpenMP thread
// (test_main.cpp): ctest runs test processes side by side. A test that needs more threads holds a
// TestThreads, which replaces that process-wide limit rather than adding a second one: TBB honours
// the smallest live tbb::global_control, so a larger one beside it would change nothing.
//
// Such a test has "TwoThreads" in its name: ctest then reserves both cores for it
// (tests/CMakeLists.txt), and TestThreads fails a test that does not.
#pragma once

#include <gtest/gtest.h>
#include <tbb/task_scheduler_observer.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

namespace vitsweep::testing {

// Sets the process-wide TBB and OpenMP thread counts (test_main.cpp calls it first).
void set_test_threads(int tbb_threads, int openmp_threads);

// `tbb_threads` TBB and `openmp_threads` OpenMP threads while alive; the previous counts after.
class TestThreads {
 public:
  explicit TestThreads(int tbb_threads, int openmp_threads);
  explicit TestThreads(int threads) : TestThreads(threads, threads) {}
  ~TestThreads();
  TestThreads(const TestThreads&) = delete;
  TestThreads& operator=(const TestThreads&) = delete;

 private:
  int previous_tbb_, previous_openmp_;
};

// How many distinct threads TBB runs one parallel loop on, up to `wanted`: each of the loop's
// `wanted` bodies waits until `wanted` distinct threads have arrived or `timeout` has passed, so
// the answer is `wanted` whenever TBB has that many threads, and fewer (after the timeout) when
// it has not, never a hang.
int tbb_threads_meeting(int wanted, std::chrono::milliseconds timeout = std::chrono::seconds(20));

// The distinct threads of an OpenMP parallel region: the team oneDNN would get.
int openmp_team_threads();

// The distinct threads that join this thread's TBB arena to take its tasks while the recorder is
// alive, the calling thread included (TBB sends a worker in only when there are tasks to take):
// proof that a section really ran in parallel.
class TbbThreadRecorder : public tbb::task_scheduler_observer {
 public:
  TbbThreadRecorder();
  ~TbbThreadRecorder() override;
  int distinct_threads() const;

  void on_scheduler_entry(bool is_worker) override;

 private:
  mutable std::mutex mutex_;
  std::set<std::thread::id> threads_;
};

// Runs `section` (which checks its own results) until one run has used at least two TBB threads,
// for at most `patience` and never after a failure; returns the most threads one run used. A
// short section can end before the second thread has woken up, so one run alone proves nothing.
template <typename Section>
int run_until_parallel(Section&& section,
                       std::chrono::milliseconds patience = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  int most = 0;
  do {
    TbbThreadRecorder recorder;
    section();
    most = std::max(most, recorder.distinct_threads());
  } while (most < 2 && !::testing::Test::HasFailure() &&
           std::chrono::steady_clock::now() < deadline);
  return most;
}

}  // namespace vitsweep::testing
