// The MPI processes ("ranks") this program runs among, when an MPI launcher started it:
// `mpirun -np R sweep ...`, `srun --mpi=pmix sweep ...`. Started any other way, the program is
// one process that never calls MPI, and behaves exactly as without this layer.
//
// The C API, used from C++: MPI_Comm handles are plain values. Every MPI call's error is turned
// into vitsweep::Error (the world communicator returns errors instead of aborting), and waits
// poll with sleeps instead of spinning, so a rank that waits leaves the core to ranks that compute
// (cluster-notes.md: oversubscribed ranks, several ranks per node).
//
// One session per process (MPI can be initialised once), made by the main thread, which is then
// the only thread that calls MPI (MPI_THREAD_FUNNELED).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vitsweep::cluster {

// Whether an MPI launcher started this process: Open MPI's mpirun/mpiexec set
// OMPI_COMM_WORLD_SIZE, `srun --mpi=pmix` sets PMIX_RANK, PMI-1/2 launchers (MPICH's hydra,
// `srun --mpi=pmi2`) set PMI_RANK. SLURM_* variables alone do not count: they are set in every
// Slurm job step, also for a program srun starts without MPI.
bool started_by_mpi_launcher();

// VITSWEEP_RANKS_PER_NODE=k: every k consecutive ranks form a node, as if each group ran on
// another machine (k = 1: every rank a node of its own). For testing and measuring many-node
// sweeps on one machine; never needed on a real cluster. 0 when unset (nodes are real machines).
int simulated_ranks_per_node();

// Throws vitsweep::Error "<what>: <MPI's text for code>" unless code is MPI_SUCCESS.
void check_mpi(int code, std::string_view what);

class MpiSession {
 public:
  // Initialises MPI when started_by_mpi_launcher(), else a one-rank session that never calls MPI.
  MpiSession();
  // MPI_Finalize, which waits for the other ranks. Not while an exception is unwinding: a rank
  // that fails exits without it, and the launcher ends the job's other ranks (a failed rank must
  // never leave the others waiting for it in a collective).
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  // MPI_Finalize now, on every rank together (it waits for the others), for a clean end on a path
  // that then throws; the destructor does nothing more. A no-op when not active.
  void finalize();
  MpiSession& operator=(const MpiSession&) = delete;

  bool active() const { return active_; }  // MPI is initialised
  int rank() const { return rank_; }       // in the world: 0 .. size - 1
  int size() const { return size_; }
  // Among the ranks on this node (sharing memory): to split the node's cores between them.
  int node_rank() const { return node_rank_; }
  int node_size() const { return node_size_; }
  int node_count() const { return node_count_; }  // nodes (machines) the ranks run on
  const std::string& host() const { return host_; }
  // MPI_COMM_NULL when not active.
  MPI_Comm world() const { return world_; }
  MPI_Comm node() const { return node_; }

 private:
  bool active_ = false;
  int rank_ = 0, size_ = 1, node_rank_ = 0, node_size_ = 1, node_count_ = 1;
  std::string host_;
  MPI_Comm world_ = MPI_COMM_NULL, node_ = MPI_COMM_NULL;
  int exceptions_at_start_ = 0;
};

// Waits for requests to complete, testing them with growing sleeps in between (MPI progresses
// only inside its calls; its own MPI_Wait spins a core at 100%). Returns the seconds waited.
double wait_all(std::span<MPI_Request> requests, std::string_view what);

// MPI_Barrier without spinning: MPI_Ibarrier, then wait_all.
void barrier(MPI_Comm comm);

// Every rank's value, in rank order (MPI_Allgather).
std::vector<uint64_t> gather_all(MPI_Comm comm, uint64_t value);

}  // namespace vitsweep::cluster
