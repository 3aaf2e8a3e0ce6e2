// `sweep run` under an MPI launcher (mpirun, srun --mpi=pmix): one sweep spread over many
// machines. Rank 0 is the coordinator: the only process that opens the results database; it
// claims trials and hands them to the nodes. On every node one rank, the node worker, runs the
// trials it is given as child processes (`sweep worker`, exactly as a single-machine run does,
// with jobs and threads chosen from that node's cores) and forwards their protocol lines and
// exits to rank 0; rank 0's own node runs trials too. The other ranks of a node only wait, so a
// node is filled once whether the launcher started one rank per node or one per core.
//
// Failures: a rank that dies ends the whole job (the launcher does that); trials it ran stay
// 'running' in the database until their lease expires, and the next launch re-queues them and
// resumes them from their checkpoints. SIGTERM (mpirun and srun pass it on to every rank) stops
// the trials at a step boundary: they are marked killed and resume next time.
#pragma once

#include <functional>
#include <string>

#include "cluster/mpi_session.hpp"
#include "runner/scheduler.hpp"
#include "store/results_store.hpp"

namespace vitsweep::cluster {

struct ClusterRun {
  int jobs = 0, threads = 0;  // per node, as given (0: from each node's cores)
  int64_t log_every = 0;
  std::string runs_dir;        // absolute
  std::string worker_program;  // the `sweep` executable
};

// Rank 0, once the sweep is stored and prepared (slots_wanted: PreparedSweep's): tells the other
// ranks what to run, learns each node's slots, runs the scheduler over all of them, then lets every
// rank go. `note` receives one-line notices (the nodes and their slots, unshared folders).
runner::RunSummary coordinate_sweep(MpiSession& session, store::ResultsStore& store,
                                    int64_t sweep_id, int64_t slots_wanted, const ClusterRun& run,
                                    runner::SchedulerOptions options,
                                    runner::RunnerListener listener);

// Rank 0, when it failed before any trial ran: every other rank learns the error and stops.
void abandon_sweep(MpiSession& session, const std::string& error);

// Every rank but 0: waits for rank 0's word, then serves trials if it is its node's first rank,
// and returns when the sweep is over. Throws Error when rank 0 failed.
void take_part_in_sweep(MpiSession& session, const std::string& worker_program);

}  // namespace vitsweep::cluster
