// The processes that train one trial together by data parallelism, each holding a replica of
// the model. The engine sees only this interface; lib/cluster implements it over MPI, so the
// engine never links MPI.
#pragma once

#include <cstdint>
#include <vector>

namespace vitsweep::engine {

class ReplicaGroup {
 public:
  virtual ~ReplicaGroup() = default;

  virtual int rank() const = 0;  // 0 .. size - 1; rank 0 writes checkpoints and reports
  virtual int size() const = 0;

  // Starts summing `count` values in place across the group, without waiting. The values must
  // stay untouched until wait_all(). Every member starts the same sums in the same order.
  virtual void start_sum(float* values, int64_t count) = 0;
  virtual void start_sum(double* values, int64_t count) = 0;
  // Lets started sums advance (MPI moves non-blocking collectives only inside its calls).
  virtual void progress() = 0;
  // Waits until every started sum is complete; returns the seconds spent waiting.
  virtual double wait_all() = 0;

  // Every member's value, in rank order (to compare checksums).
  virtual std::vector<uint64_t> gather(uint64_t value) = 0;
};

}  // namespace vitsweep::engine
