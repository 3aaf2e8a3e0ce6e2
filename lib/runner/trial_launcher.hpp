// Where trials run, behind one small interface: the scheduler (scheduler.hpp) asks for a free
// slot, starts a trial in it, receives the trial's protocol lines (protocol.hpp) and its exit, and
// can stop it. LocalLauncher runs each trial as a child process on this machine; the MPI
// coordinator's launcher hands trials to worker ranks on other machines.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/json.hpp"
#include "runner/child_process.hpp"

namespace vitsweep::runner {

// A place that runs one trial at a time: a core group of this machine or of a worker node. A data
// parallel trial (config key `ranks`) takes as many slots of one machine, one per rank.
struct LaunchSlot {
  int index = 0;     // the launcher's own numbering
  std::string host;  // where a trial started in it runs
  int width = 1;     // the most ranks a trial started in it may have: free slots on its machine
};

// A claimed trial, as the scheduler hands it to a launcher.
struct TrialLaunch {
  std::string hash;
  OrderedJson config;  // every key: written to the trial folder's config.json
  int64_t attempt = 0;
  std::string runner_id;  // who claimed it, for the trial log's attempt header
};

// The slots a trial takes: its config's `ranks` (1 when absent).
int trial_ranks(const OrderedJson& config);

// Something a running trial did.
struct LaunchReport {
  enum class Kind { line, exited } kind = Kind::line;
  std::string hash;
  std::string line;        // line: one line the worker wrote to its stdout
  ExitStatus exit;         // exited: how the worker ended
  std::string last_error;  // exited: the last non-empty line of its log (its error, if any)
};

enum class StopMode {
  at_step_boundary,  // SIGTERM: the trial finishes its step and reports "killed"
  now,               // SIGKILL
};

class TrialLauncher {
 public:
  virtual ~TrialLauncher() = default;

  // How many trials it runs at once when every slot is busy.
  virtual int capacity() const = 0;
  // The most ranks one trial may have here: the most slots one machine has.
  virtual int widest() const { return 1; }
  // A slot with no trial in it, if any.
  virtual std::optional<LaunchSlot> free_slot() const = 0;
  // Starts the trial in a slot free_slot() returned.
  virtual void start(const LaunchSlot& slot, const TrialLaunch& launch) = 0;
  // Waits up to timeout_s for running trials to say something; returns what they said, each
  // trial's lines in order and its exit after its last line. A trial whose exit was reported
  // no longer holds a slot.
  virtual std::vector<LaunchReport> wait(double timeout_s) = 0;
  // A stop at a step boundary is asked once: a worker takes a second signal as "exit now" (the
  // user pressed Ctrl-C twice), and on a node of a sweep across machines both the node's own
  // SIGTERM and rank 0's stop message ask. StopMode::now always kills.
  virtual void stop(const std::string& hash, StopMode mode) = 0;
};

}  // namespace vitsweep::runner
