// engine::ReplicaGroup over an MPI communicator: sums are MPI_Iallreduce in place, waits poll
// with sleeps (wait_all in mpi_session.hpp).
#pragma once

#include <mpi.h>

#include <vector>

#include "engine/replica_group.hpp"

namespace vitsweep::cluster {

class MpiReplicaGroup final : public engine::ReplicaGroup {
 public:
  // Every rank of `comm` is a replica; the communicator must outlive the group.
  explicit MpiReplicaGroup(MPI_Comm comm);
  ~MpiReplicaGroup() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void start_sum(float* values, int64_t count) override;
  void start_sum(double* values, int64_t count) override;
  void progress() override;
  double wait_all() override;
  std::vector<uint64_t> gather(uint64_t value) override;

 private:
  void start(void* values, int64_t count, MPI_Datatype type, size_t bytes_per_value);

  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  std::vector<MPI_Request> pending_;
};

}  // namespace vitsweep::cluster
