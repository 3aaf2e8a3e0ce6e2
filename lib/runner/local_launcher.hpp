// Runs trials as child processes of this one (`sweep worker DIR`, protocol.hpp) in `jobs` slots of
// `threads` threads each. Each trial's folder, runs_dir/<hash>, gets its config.json and an attempt
// header in log.txt before the worker starts.
//
// A data parallel trial (`ranks` R > 1) takes R slots and runs as `mpirun -np R sweep worker ...`
// on this machine alone: one rank per slot, each with the slot's threads. Its stop at a step
// boundary is SIGUSR1, which mpirun passes on to its ranks (SIGTERM would make mpirun end them
// within a second); the ranks die with mpirun. The workers' environment leaves out the variables
// of an MPI launcher that started this process (OMPI_*, PMIX_*, PMI_*), so that a worker of a
// sweep across machines is not taken for a rank of the sweep's own job, and the nested mpirun
// also leaves out SLURM_* so that it places its ranks here, not on the Slurm allocation's nodes.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runner/trial_launcher.hpp"

namespace vitsweep::runner {

struct WorkerCommand {
  std::string program;  // the `sweep` executable
  std::string runs_dir;
  int threads = 1;
  int64_t log_every = 0;  // > 0: the worker reports its batch loss every this many steps
};

class LocalLauncher : public TrialLauncher {
 public:
  LocalLauncher(WorkerCommand command, int jobs);

  int capacity() const override { return static_cast<int>(slots_.size()); }
  int widest() const override { return capacity(); }
  std::optional<LaunchSlot> free_slot() const override;
  void start(const LaunchSlot& slot, const TrialLaunch& launch) override;
  std::vector<LaunchReport> wait(double timeout_s) override;
  void stop(const std::string& hash, StopMode mode) override;

 private:
  struct Running {
    std::string hash;
    std::string log_path;
    int ranks = 1;
    bool asked_to_stop = false;  // at a step boundary: asked once (trial_launcher.hpp)
    std::unique_ptr<ChildProcess> process;
  };
  std::vector<std::string> worker_argv(const std::string& dir, int ranks);

  WorkerCommand command_;
  std::string host_;
  std::vector<std::string> slots_;  // the hash of the trial in each slot; empty: free
  std::vector<Running> running_;
  std::string mpirun_;  // found on PATH when the first data parallel trial starts
};

// Writes runs_dir/<hash>/config.json and the attempt header of its log.txt; returns the folder.
std::string prepare_trial_folder(const std::string& runs_dir, const TrialLaunch& launch);

// The last non-empty line of a log file: the worker's error message when it failed.
std::string last_log_line(const std::string& path);

// This process's environment without the variables of the MPI launcher that started it. For a
// worker under its own mpirun (for_nested_mpirun) also without Slurm's, and without
// VITSWEEP_RANKS_PER_NODE, which simulates nodes for the sweep's ranks, not for a trial's.
std::vector<std::string> environment_without_launcher(bool for_nested_mpirun);

}  // namespace vitsweep::runner
