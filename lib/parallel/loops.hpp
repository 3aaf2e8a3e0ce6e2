// Parallel loops on TBB. Every parallel loop of the project goes through parallel_for here, which
// tells ThreadSanitizer the ordering TBB guarantees (parallel/thread_sanitizer.hpp): the code
// before a loop happens before each of its bodies, and each body before the code after the loop.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>

#include <cstdint>
#include <utility>

#include "parallel/thread_sanitizer.hpp"

namespace vitsweep {
namespace detail {

// A loop body as TBB copies and runs it. The thread that copies a body (into a task it is about to
// spawn) happens before the thread that runs the copy; a run happens before the end of the loop,
// and before the next copy into the same memory (TBB reuses task memory across threads).
template <typename Body>
class OrderedBody {
 public:
  OrderedBody(const Body& body, const char* loop_end) : body_(body), loop_end_(loop_end) {}
  OrderedBody(const OrderedBody& other)
      : body_((tsan::acquire(this), tsan::acquire(&other), other.body_)),
        loop_end_(other.loop_end_) {
    tsan::release(this);
  }
  OrderedBody& operator=(const OrderedBody&) = delete;

  template <typename Range>
  void operator()(const Range& range) const {
    tsan::acquire(this);
    body_(range);
    tsan::release(loop_end_);
    tsan::release(this);
  }

 private:
  Body body_;
  const char* loop_end_;
};

}  // namespace detail

// tbb::parallel_for(range, body, partitioner), its ordering visible to ThreadSanitizer.
template <typename Range, typename Body, typename... Partitioner>
void parallel_for(const Range& range, const Body& body, Partitioner&&... partitioner) {
  const char loop_end = 0;
  tbb::parallel_for(range, detail::OrderedBody<Body>(body, &loop_end),
                    std::forward<Partitioner>(partitioner)...);
  tsan::acquire(&loop_end);
}

// fn(begin, end) over [0, n) in parallel; `grain` is the smallest piece worth a task. On a budget
// of one thread (engine/threads.hpp: a sweep's trials) fn(0, n) runs here: TBB would still split
// the range into tasks and run them one after another, about 3% of a nano/4 trial's time in the
// hundreds of loops of a step. Callers give the same bits for any split (engine/parallel.hpp).
template <typename Fn>
void parallel_ranges(int64_t n, int64_t grain, Fn&& fn) {
  if (n <= grain ||
      tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism) == 1) {
    if (n > 0) fn(int64_t{0}, n);
    return;
  }
  vitsweep::parallel_for(tbb::blocked_range<int64_t>(0, n, grain),
                         [&](const tbb::blocked_range<int64_t>& r) { fn(r.begin(), r.end()); });
}

// fn(i) for every i in [0, n), in parallel, one index at least per task.
template <typename Index, typename Fn>
void parallel_indices(Index n, Fn&& fn) {
  parallel_ranges(static_cast<int64_t>(n), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) fn(static_cast<Index>(i));
  });
}

}  // namespace vitsweep
