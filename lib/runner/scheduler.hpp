// Runs a sweep's queued trials on a launcher (trial_launcher.hpp): claims them one at a time from
// the database (atomically, so several runners on one database share the work), records every
// epoch and the final result, keeps leases alive with heartbeats, retries failures up to
// max_attempts, and on SIGINT/SIGTERM stops the trials at a step boundary and marks them killed
// (they resume on the next run). The steps it is made of are free functions below, each tested
// on its own (tests/runner).
#pragma once

#include <functional>
#include <limits>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "runner/protocol.hpp"
#include "runner/trial_launcher.hpp"
#include "store/results_store.hpp"

namespace vitsweep::runner {

struct SchedulerOptions {
  int64_t max_attempts = 2;   // a failed trial is re-queued until it has had this many
  bool fail_fast = false;     // stop every trial at the first failure
  double lease_seconds = 60;  // a runner silent for this long is presumed dead
  double heartbeat_seconds = 5;
  double stop_grace_seconds = 30;    // after a stop request, how long trials get to stop cleanly
  double queue_recheck_seconds = 5;  // an empty queue is looked at again after this long
  double poll_seconds = 0.2;         // longest wait for trial output between bookkeeping
  std::function<bool()> stop_requested;  // polled every turn (default: SIGINT / SIGTERM seen)
  // Unix time by which the runner must be done (a cluster allocation's end): no trial is claimed
  // that would not finish by then at the pace of those finished so far.
  double deadline = std::numeric_limits<double>::infinity();
};

struct RunningTrial {
  std::string hash, host;
  int64_t attempt = 0;
  int64_t epoch = 0, epochs = 0, step = 0, total_steps = 0;
  double started = 0;  // unix time
};

struct RunProgress {
  store::StatusCounts counts;         // the whole sweep, from the database
  std::vector<RunningTrial> running;  // this runner's
  double eta_seconds = -1;            // -1: unknown yet
};

struct FinishedTrial {
  std::string hash;
  store::TrialFinish finish;
  int64_t attempt = 0;
  bool will_retry = false;
  double wall_s = 0;  // this attempt, from claim to exit
};

struct RunnerListener {
  std::function<void(const FinishedTrial&, const store::StatusCounts&)> on_trial_finished;
  std::function<void(const RunProgress&)> on_progress;  // about once a second
  std::function<void(const std::string&)> on_note;      // one-line notices
};

// What the runner itself did, for measuring it (`sweep run --stats`).
struct RunnerStats {
  double seconds = 0;  // from start to end of run()
  int64_t trials_started = 0, trials_finished = 0;
  int64_t events = 0;                   // protocol events received
  int64_t db_writes = 0;                // write transactions on the results database
  double db_write_s = 0;                // wall time inside them (lock, work, commit with its fsync)
  std::vector<double> event_latency_s;  // from the worker's send time to the database write
};

// Counts and rates (per second of the run), and event latency percentiles in milliseconds.
OrderedJson to_json(const RunnerStats& stats);

struct RunSummary {
  store::StatusCounts counts;
  bool interrupted = false;         // SIGINT / SIGTERM
  bool stopped_on_failure = false;  // --fail-fast
  bool deadline_reached = false;    // claims stopped: trials left would not finish in time
  // Queued trials left because they set more ranks than one machine here has slots, and that most.
  int64_t too_wide = 0;
  int widest = 1;
  RunnerStats stats;
};

// One running trial as the scheduler sees it: its progress and what it has reported so far.
struct TrialSlot {
  RunningTrial trial;
  store::TrialFinish finish;
  bool ended = false;  // its "end" event arrived
};

// Folds one protocol event into the slot (progress, epochs done, the outcome).
void apply_event(TrialSlot& slot, const TrialEvent& event);

// Writes what an event adds to the database: an epoch's metrics, a logged step.
void record_event(store::ResultsStore& store, const std::string& hash, const TrialEvent& event,
                  double now);

// The final state of a trial whose worker has exited. `last_error` is the last line of its log;
// `stopping`: the scheduler was stopping the trials, so a signal was ours, not a crash.
store::TrialFinish classify_exit(const TrialSlot& slot, const ExitStatus& exit,
                                 const std::string& last_error, bool stopping);

// The seconds one more trial is expected to take: the mean of those finished, else the running
// ones' projected duration at their pace so far; 0 when nothing is known yet.
double expected_trial_seconds(std::span<const double> finished_durations,
                              std::span<const RunningTrial> running, double now);

// Seconds until the sweep is done: the queued trials plus what is left of the running ones, at
// the mean duration of the trials finished so far (or, before any, the running ones' pace),
// `capacity` at a time. -1 when nothing is known yet.
double estimate_eta(std::span<const double> finished_durations,
                    std::span<const RunningTrial> running, int64_t queued, int capacity,
                    double now);

// The sweep's status counts as a runner shows them. Reading them visits every trial of the
// sweep (6 ms at 10,000 trials), too slow for every finished trial when a thousand nodes finish
// trials each second, so they are read at most every `refresh_seconds` and moved by this runner's
// own changes in between: exact for one runner, at most `refresh_seconds` behind the others.
class CountsView {
 public:
  using Read = std::function<store::StatusCounts()>;
  CountsView(Read read, double refresh_seconds)
      : read_(std::move(read)), refresh_seconds_(refresh_seconds) {}
  const store::StatusCounts& at(double now);
  // One trial of the sweep went from one status to another by this runner's hand.
  void move(TrialStatus from, TrialStatus to);

 private:
  Read read_;
  double refresh_seconds_;
  double read_at_ = -std::numeric_limits<double>::infinity();
  store::StatusCounts counts_;
};

class Scheduler {
 public:
  Scheduler(store::ResultsStore& store, int64_t sweep_id, TrialLauncher& launcher,
            SchedulerOptions options, RunnerListener listener);
  Scheduler(const Scheduler&) = delete;  // counts_ reads through `this`
  Scheduler& operator=(const Scheduler&) = delete;
  RunSummary run();

 private:
  void note(const std::string& text) const;
  void requeue_abandoned();
  // Data parallel trials that need more slots than one machine here has.
  void note_trials_too_wide();
  void stop_all(const std::string& why);
  void claim_into_free_slots(double now);
  void handle(const LaunchReport& report);
  void settle(const std::string& hash, const ExitStatus& exit, const std::string& last_error);
  void kill_after_grace(double now);
  void heartbeat_if_due(double now);
  void report_progress_if_due(double now);
  bool deadline_allows_a_trial(double now);

  store::ResultsStore& store_;
  int64_t sweep_id_;
  TrialLauncher& launcher_;
  SchedulerOptions options_;
  RunnerListener listener_;
  store::RunnerIdentity me_;
  std::map<std::string, TrialSlot> running_;
  std::vector<double> finished_durations_;
  CountsView counts_;
  RunSummary summary_;
  bool stopping_ = false;
  double stop_started_ = 0, next_claim_ = 0, last_heartbeat_ = 0, last_progress_ = 0;
};

}  // namespace vitsweep::runner
