// Everything the runner and the query commands do to the results database, each operation one
// short transaction. Trials are identified by their hash (lib/sweep/identity.hpp) across sweeps:
// a finished trial is linked into any later sweep that contains it, never run twice unless
// forced.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/json.hpp"
#include "store/database.hpp"
#include "trial/records.hpp"
#include "trial/status.hpp"

namespace vitsweep::store {

struct SweepRecord {
  std::string name, description, file;
  OrderedJson spec;
};

struct TrialToStore {
  std::string hash;
  std::string identity;  // canonical normalised config (JSON text)
  OrderedJson config;    // the full config the trial runs with
  int64_t position = 0;  // in the sweep's expansion order
};

struct Registration {
  int64_t sweep_id = 0;
  int64_t trials = 0;      // in the sweep
  int64_t new_trials = 0;  // never seen before in this database
  int64_t finished = 0;    // already done or diverged (from this or another sweep): not re-run
  int64_t unlinked = 0;    // trials of an earlier version of the sweep that it no longer holds
  int64_t dequeued = 0;    // trials no sweep holds any more that never started: removed
};

// Who runs trials: one per `sweep run` process.
struct RunnerIdentity {
  std::string id;  // host:pid:start time, unique
  std::string host;
  int64_t pid = 0;
};

struct RunPolicy {
  bool force = false;         // re-run done and diverged trials of this sweep
  bool retry_failed = false;  // failed trials get a fresh set of attempts
  int64_t max_attempts = 2;   // a trial that failed this many times stays failed
};

struct ClaimedTrial {
  std::string hash;
  OrderedJson config;
  int64_t position = 0;
  int64_t attempt = 0;  // 1-based: this claim's attempt number
};

struct TrialFinish {
  TrialStatus status = TrialStatus::failed;  // done, diverged, failed or killed
  std::string error;                         // for failed / killed / diverged: one line
  TrialOutcome outcome;  // metrics (final_test etc.) when the trial reported them
  int64_t epochs_done = 0;
  int64_t params = 0;
  double flops_per_image = 0;
};

struct StatusCounts {
  int64_t queued = 0, running = 0, done = 0, failed = 0, diverged = 0, killed = 0;
  int64_t total() const { return queued + running + done + failed + diverged + killed; }
  int64_t& of(TrialStatus status);
  int64_t of(TrialStatus status) const { return const_cast<StatusCounts&>(*this).of(status); }
};

// The sweep's trials by status: the one place they are counted.
StatusCounts status_counts(Database& db, int64_t sweep_id);

enum class EpochWrite { replace, keep_existing };

class ResultsStore {
 public:
  ResultsStore(const std::string& path, Database::Access access = Database::Access::read_write);

  Database& db() { return db_; }

  // Creates or updates the sweep, inserts unseen trials as queued and links every trial. The
  // sweep then holds exactly these trials: those of an earlier version of it are unlinked (their
  // results stay in the database, under any other sweep that holds them).
  Registration register_sweep(const SweepRecord& sweep, const std::vector<TrialToStore>& trials);
  std::optional<int64_t> find_sweep(const std::string& name);

  // Makes the sweep's trials runnable according to the policy; returns the hashes whose results
  // were discarded (force), so the caller can clear their run folders.
  std::vector<std::string> prepare_run(int64_t sweep_id, const RunPolicy& policy);

  // Trials left 'running' by a runner that is gone go back to the queue: the lease expired, or
  // the runner was on this host and its process no longer exists. Returns their hashes.
  std::vector<std::string> requeue_abandoned(const std::string& this_host, double now);

  // Atomically takes the sweep's first queued trial (by position) of at most `max_ranks` ranks (a
  // data parallel trial, config key `ranks`, needs that many slots at once): running,
  // attempts + 1, owned by `runner` with a lease. Concurrent runners never get the same trial.
  // `worker_host`: where the trial will run, for `sweep status` (empty: the runner's host).
  static constexpr int kAnyRanks = 1 << 30;

  std::optional<ClaimedTrial> claim_next_trial(int64_t sweep_id, const RunnerIdentity& runner,
                                               double now, double lease_seconds,
                                               const std::string& worker_host = "",
                                               int max_ranks = kAnyRanks);

  // Extends the lease of every trial `runner` is running.
  void heartbeat(const RunnerIdentity& runner, double now, double lease_seconds);

  // Per-epoch metrics of a running trial. A trial run again from an earlier point replaces what
  // its epochs recorded (`replace`); one resumed from a checkpoint reports the checkpoint's
  // epochs again (`keep_existing`), which only adds those the database lacks.
  void record_epoch(const std::string& hash, const EpochRecord& record, double now,
                    EpochWrite write = EpochWrite::replace);

  // Per-step metrics (sweep run --log-every): step_loss (the batch's loss) and step_lr.
  void record_step(const std::string& hash, int64_t epoch, int64_t step, double loss, double lr,
                   double now);

  // Final state. 'done' requires a test accuracy: a trial is never marked done without results.
  void finish_trial(const std::string& hash, const TrialFinish& finish, double now);

  // failed -> queued when attempts < max_attempts (for retrying within a run).
  bool requeue_if_attempts_left(const std::string& hash, int64_t max_attempts);

  StatusCounts status_counts(int64_t sweep_id);
  // Queued trials of at most max_ranks ranks.
  int64_t queued_count(int64_t sweep_id, int max_ranks = kAnyRanks);
  // The most ranks a queued trial of the sweep asks for (0: none queued).
  int most_ranks_queued(int64_t sweep_id);

 private:
  Database db_;
};

// Seconds since the Unix epoch, as stored in every time column.
double unix_now();

}  // namespace vitsweep::store
