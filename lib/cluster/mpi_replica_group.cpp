#include "cluster/mpi_replica_group.hpp"

#include <algorithm>
#include <climits>
#include <exception>

#include "cluster/mpi_session.hpp"

namespace vitsweep::cluster {

MpiReplicaGroup::MpiReplicaGroup(MPI_Comm comm) : comm_(comm) {
  check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

MpiReplicaGroup::~MpiReplicaGroup() {
  // Sums still in flight must finish before their buffers go; not while an exception unwinds
  // (the process is failing, and a rank that failed may never take part).
  if (pending_.empty() || std::uncaught_exceptions() > 0) return;
  try {
    wait_all();
  } catch (const std::exception&) {
    // MPI failed: the job ends anyway.
  }
}

void MpiReplicaGroup::start(void* values, int64_t count, MPI_Datatype type,
                            size_t bytes_per_value) {
  // MPI counts are int: larger ranges go in pieces.
  constexpr int64_t kPiece = INT_MAX / 2;
  for (int64_t done = 0; done < count; done += kPiece) {
    const int n = static_cast<int>(std::min(kPiece, count - done));
    MPI_Request request = MPI_REQUEST_NULL;
    check_mpi(MPI_Iallreduce(MPI_IN_PLACE, static_cast<char*>(values) + done * bytes_per_value, n,
                             type, MPI_SUM, comm_, &request),
              "MPI_Iallreduce");
    pending_.push_back(request);
  }
}

void MpiReplicaGroup::start_sum(float* values, int64_t count) {
  start(values, count, MPI_FLOAT, sizeof(float));
}

void MpiReplicaGroup::start_sum(double* values, int64_t count) {
  start(values, count, MPI_DOUBLE, sizeof(double));
}

void MpiReplicaGroup::progress() {
  if (pending_.empty()) return;
  int done = 0;
  check_mpi(
      MPI_Testall(static_cast<int>(pending_.size()), pending_.data(), &done, MPI_STATUSES_IGNORE),
      "MPI_Testall");
  if (done) pending_.clear();
}

double MpiReplicaGroup::wait_all() {
  if (pending_.empty()) return 0.0;
  const double seconds = cluster::wait_all(pending_, "MPI_Iallreduce");
  pending_.clear();
  return seconds;
}

std::vector<uint64_t> MpiReplicaGroup::gather(uint64_t value) { return gather_all(comm_, value); }

}  // namespace vitsweep::cluster
