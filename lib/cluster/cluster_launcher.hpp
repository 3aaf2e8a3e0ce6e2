// The coordinator's launcher for a sweep across machines: rank 0's own node runs trials as child
// processes (runner::LocalLauncher), every other node through its node worker (node_worker.hpp),
// by messages (sweep_messages.hpp). To the scheduler it is one TrialLauncher whose slots are the
// slots of every node.
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

  int capacity() const override { return static_cast<int>(slots_.size()); }
  std::optional<runner::LaunchSlot> free_slot() const override;
  void start(const runner::LaunchSlot& slot, const runner::TrialLaunch& launch) override;
  std::vector<runner::LaunchReport> wait(double timeout_s) override;
  void stop(const std::string& hash, runner::StopMode mode) override;

  // Tells every node worker that no more trials come.
  void shut_down_nodes();

 private:
  struct Slot {
    int rank = 0;       // 0: this process's own children
    int node_slot = 0;  // the slot's number on its node
    std::string host;
    std::string hash;  // the trial in it, empty when free
  };
  void take_reports(const std::vector<runner::LaunchReport>& reports,
                    std::vector<runner::LaunchReport>& out);
  Slot* slot_of(const std::string& hash);

  MPI_Comm world_;
  runner::LocalLauncher local_;
  std::vector<Slot> slots_;
  std::vector<int> node_ranks_;
};

}  // namespace vitsweep::cluster
