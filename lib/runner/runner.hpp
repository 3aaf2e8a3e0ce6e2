// Runs a sweep's queued trials: claims them one at a time from the database (atomically, so
// several `sweep run` processes on one database share the work), runs each in a child process
// (protocol.hpp), `jobs` at a time with `threads` each, records every epoch and the final result,
// keeps leases alive with heartbeats, retries failures up to max_attempts, and on SIGINT/SIGTERM
// stops the children at a step boundary and marks their trials killed (they resume next run).
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "store/results_store.hpp"

namespace vitsweep::runner {

struct RunOptions {
  int jobs = 1;
  int threads = 1;
  std::string runs_dir;        // trial folders: runs_dir/<hash>
  std::string worker_program;  // the `sweep` executable
  store::RunPolicy policy;
  bool fail_fast = false;
  double lease_seconds = 60;      // a runner silent for this long is presumed dead
  double heartbeat_seconds = 5;
  double stop_grace_seconds = 30; // after SIGTERM, how long children get to stop cleanly
  int64_t log_every = 0;          // > 0: store the batch loss every this many steps
};

struct RunningTrial {
  std::string hash;
  int64_t attempt = 0;
  int64_t epoch = 0, epochs = 0, step = 0, total_steps = 0;
  double started = 0;  // unix time
};

struct RunProgress {
  store::StatusCounts counts;        // the whole sweep, from the database
  std::vector<RunningTrial> running;  // this runner's
  double eta_seconds = -1;            // -1: unknown yet
};

struct FinishedTrial {
  std::string hash;
  store::TrialFinish finish;
  int64_t attempt = 0;
  bool will_retry = false;
  double seconds = 0;
};

struct RunnerListener {
  std::function<void(const FinishedTrial&, const store::StatusCounts&)> on_trial_finished;
  std::function<void(const RunProgress&)> on_progress;  // about once a second
  std::function<void(const std::string&)> on_note;      // one-line notices
};

struct RunSummary {
  store::StatusCounts counts;
  bool interrupted = false;      // SIGINT / SIGTERM
  bool stopped_on_failure = false;  // --fail-fast
};

RunSummary run_sweep_trials(store::ResultsStore& store, int64_t sweep_id, const RunOptions& options,
                            const RunnerListener& listener);

// Default split of `cores` for `trials` runnable trials: as many 1-thread trials side by side as
// there are trials and cores (trials in parallel waste nothing on synchronisation), and when there
// are fewer trials than cores, the spare cores become threads. Explicit jobs/threads (> 0) win.
std::pair<int, int> choose_jobs_and_threads(int64_t trials, int cores, int jobs, int threads);

std::string host_name();

}  // namespace vitsweep::runner
