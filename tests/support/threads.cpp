#include "support/threads.hpp"

#include <gtest/gtest.h>
#include <omp.h>
#include <tbb/global_control.h>

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <string>

#include "parallel/loops.hpp"
#include "parallel/thread_sanitizer.hpp"

namespace vitsweep::testing {
namespace {

// The one process-wide limit; replaced, never stacked.
std::unique_ptr<tbb::global_control> tbb_limit;
int current_tbb = 0, current_openmp = 0;

// A test on more than one thread must be one ctest gives both cores (tests/CMakeLists.txt).
void check_test_is_marked(int threads) {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  if (threads < 2 || test == nullptr) return;
  const std::string name = std::string(test->test_suite_name()) + "." + test->name();
  if (name.find("TwoThreads") == std::string::npos) {
    ADD_FAILURE() << name << " runs on " << threads
                  << " threads but has no \"TwoThreads\" in its name, so ctest runs other tests "
                     "beside it";
  }
}

}  // namespace

void set_test_threads(int tbb_threads, int openmp_threads) {
  tbb_limit.reset();
  tbb_limit = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                    static_cast<size_t>(tbb_threads));
  omp_set_num_threads(openmp_threads);
  current_tbb = tbb_threads;
  current_openmp = openmp_threads;
}

TestThreads::TestThreads(int tbb_threads, int openmp_threads)
    : previous_tbb_(current_tbb), previous_openmp_(current_openmp) {
  check_test_is_marked(std::max(tbb_threads, openmp_threads));
  set_test_threads(tbb_threads, openmp_threads);
}

TestThreads::~TestThreads() { set_test_threads(previous_tbb_, previous_openmp_); }

int tbb_threads_meeting(int wanted, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::mutex mutex;
  std::condition_variable arrived;
  std::set<std::thread::id> seen;
  // One body per task (simple_partitioner, grain 1): a thread blocked in one body cannot run the
  // others, so `wanted` distinct threads must take part for every body to return early.
  vitsweep::parallel_for(
      tbb::blocked_range<int>(0, wanted, 1),
      [&](const tbb::blocked_range<int>&) {
        std::unique_lock lock(mutex);
        seen.insert(std::this_thread::get_id());
        arrived.notify_all();
        arrived.wait_until(lock, deadline, [&] { return static_cast<int>(seen.size()) >= wanted; });
      },
      tbb::simple_partitioner());
  std::lock_guard lock(mutex);
  return static_cast<int>(seen.size());
}

int openmp_team_threads() {
  std::mutex mutex;
  std::set<std::thread::id> seen;
  static const char team_start = 0;  // libgomp starts its team unseen by ThreadSanitizer
  tsan::release(&team_start);
#pragma omp parallel
  {
    tsan::acquire(&team_start);
    std::lock_guard lock(mutex);
    seen.insert(std::this_thread::get_id());
  }
  std::lock_guard lock(mutex);
  return static_cast<int>(seen.size());
}

TbbThreadRecorder::TbbThreadRecorder() { observe(true); }

TbbThreadRecorder::~TbbThreadRecorder() {
  observe(false);  // waits for callbacks under way, inside libtbb, unseen by ThreadSanitizer
  tsan::acquire(this);
}

int TbbThreadRecorder::distinct_threads() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(threads_.size());
}

void TbbThreadRecorder::on_scheduler_entry(bool) {
  std::lock_guard lock(mutex_);
  threads_.insert(std::this_thread::get_id());
  tsan::release(this);
}

}  // namespace vitsweep::testing
