// The coordinator's launcher for a sweep across machines: rank 0's own node runs trials as child
// processes (runner::LocalLauncher), every other node through its node worker (node_worker.hpp),
// by messages (sweep_messages.hpp). To the scheduler it is one TrialLauncher whose slots are the
// slots of every node, and for each other node one more: a trial it holds ahead and starts the
// moment one of its slots frees. A data parallel trial (`ranks` R) takes R free slots of one node,
// where it runs under that node's own mpirun (runner/local_launcher.hpp); only one-rank trials
// are held ahead.
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "cluster/sweep_messages.hpp"
#include "runner/local_launcher.hpp"

namespace vitsweep::cluster {

struct RemoteNode {
  int rank = 0;  // the node worker's rank
  NodeHello hello;
};

class ClusterLauncher : public runner::TrialLauncher {
 public:
  ClusterLauncher(MPI_Comm world, runner::WorkerCommand local_command, int local_jobs,
                  const std::vector<RemoteNode>& nodes);

  // Trials that run at once (not counting those other nodes hold ahead of a free slot).
  int capacity() const override { return running_capacity_; }
  int widest() const override { return widest_; }
  std::optional<runner::LaunchSlot> free_slot() const override;
  void start(const runner::LaunchSlot& slot, const runner::TrialLaunch& launch) override;
  std::vector<runner::LaunchReport> wait(double timeout_s) override;
  void stop(const std::string& hash, runner::StopMode mode) override;

  // Tells every node worker that no more trials come.
  void shut_down_nodes();

 private:
  struct Slot {
    int rank = 0;       // 0: this process's own children
    int node_slot = 0;  // rank 0's: the slot's number in local_ (other nodes pick their own)
    std::string host;
    std::string hash;    // the trial in it, empty when free
    bool ahead = false;  // a trial another node holds until one of its slots frees
    double started_at = 0;
  };
  // Whether recent trials were short enough to hold one ahead on each node.
  bool trials_are_short() const;
  void take_reports(const std::vector<runner::LaunchReport>& reports,
                    std::vector<runner::LaunchReport>& out);
  Slot* slot_of(const std::string& hash);

  MPI_Comm world_;
  runner::LocalLauncher local_;
  std::vector<Slot> slots_;
  std::vector<int> node_ranks_;
  int running_capacity_ = 0;
  int widest_ = 1;             // the most slots one node has
  int64_t finished_ = 0;       // trials that exited
  double recent_trial_s_ = 0;  // their recent mean length, start message to exit
};

}  // namespace vitsweep::cluster
