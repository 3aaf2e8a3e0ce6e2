// Runs trials as child processes of this one (`sweep worker DIR`, protocol.hpp), `jobs` at a time
// with `threads` each. Each trial's folder, runs_dir/<hash>, gets its config.json and an attempt
// header in log.txt before the worker starts.
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
  std::optional<LaunchSlot> free_slot() const override;
  void start(const LaunchSlot& slot, const TrialLaunch& launch) override;
  std::vector<LaunchReport> wait(double timeout_s) override;
  void stop(const std::string& hash, StopMode mode) override;

 private:
  struct Running {
    std::string hash;
    std::string log_path;
    std::unique_ptr<ChildProcess> process;
  };
  WorkerCommand command_;
  std::string host_;
  std::vector<std::optional<Running>> slots_;
};

// Writes runs_dir/<hash>/config.json and the attempt header of its log.txt; returns the folder.
std::string prepare_trial_folder(const std::string& runs_dir, const TrialLaunch& launch);

// The last non-empty line of a log file: the worker's error message when it failed.
std::string last_log_line(const std::string& path);

}  // namespace vitsweep::runner
