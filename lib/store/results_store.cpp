#include "store/results_store.hpp"

#include <signal.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "common/error.hpp"
#include "store/schema.hpp"

namespace vitsweep::store {

namespace {

// A trial's data parallel ranks, from its stored config (key `ranks`, 1 when absent). A damaged
// config counts as 1, so that its claim reaches the parser that names what is wrong with it.
constexpr const char* kRanksOf =
    "CASE WHEN json_valid(t.config) THEN coalesce(json_extract(t.config, '$.ranks'), 1) ELSE 1 "
    "END";

// A zombie (a dead process its parent has not reaped yet; an orphan waits for init, which can
// take seconds) still answers kill(pid, 0): it counts as gone.
bool is_zombie(int64_t pid) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!std::getline(stat, line)) return false;
  const auto name_end = line.rfind(')');  // the state follows the command name, which may hold ')'
  return name_end != std::string::npos && name_end + 2 < line.size() &&
         (line[name_end + 2] == 'Z' || line[name_end + 2] == 'X');
}

bool process_exists(int64_t pid) {
  if (pid <= 0) return false;
  const bool answers = ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
  return answers && !is_zombie(pid);
}

}  // namespace

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

ResultsStore::ResultsStore(const std::string& path, Database::Access access) : db_(path, access) {
  ensure_schema(db_);
}

std::optional<int64_t> ResultsStore::find_sweep(const std::string& name) {
  Statement s = db_.prepare("SELECT id FROM sweeps WHERE name = ?");
  s.bind(1, name);
  if (!s.step()) return std::nullopt;
  return s.integer(0);
}

Registration ResultsStore::register_sweep(const SweepRecord& sweep,
                                          const std::vector<TrialToStore>& trials) {
  const double now = unix_now();
  return db_.write([&] {
    Registration r;
    Statement upsert = db_.prepare(
        "INSERT INTO sweeps (name, description, file, spec, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?5) "
        "ON CONFLICT (name) DO UPDATE SET description = ?2, file = ?3, spec = ?4, updated_at = ?5");
    upsert.bind(1, sweep.name).bind(2, sweep.description).bind(3, sweep.file);
    upsert.bind(4, sweep.spec.dump()).bind(5, now).run();
    r.sweep_id = *find_sweep(sweep.name);
    Statement insert = db_.prepare(
        "INSERT OR IGNORE INTO trials (hash, identity, config, queued_at) VALUES (?, ?, ?, ?)");
    Statement link = db_.prepare(
        "INSERT INTO sweep_trials (sweep_id, trial_hash, position) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (sweep_id, trial_hash) DO UPDATE SET position = ?3");
    Statement status = db_.prepare("SELECT status FROM trials WHERE hash = ?");
    for (const TrialToStore& t : trials) {
      insert.reset();
      insert.bind(1, t.hash).bind(2, t.identity).bind(3, t.config.dump()).bind(4, now).run();
      r.new_trials += db_.changes();
      link.reset();
      link.bind(1, r.sweep_id).bind(2, t.hash).bind(3, t.position).run();
      status.reset();
      status.bind(1, t.hash);
      status.step();
      const std::string state = status.text(0);
      if (is_final(parse_trial_status(state).value_or(TrialStatus::queued))) ++r.finished;
    }
    r.trials = static_cast<int64_t>(trials.size());
    db_.exec("CREATE TEMP TABLE IF NOT EXISTS current_trials (hash TEXT PRIMARY KEY)");
    db_.exec("DELETE FROM current_trials");
    Statement current = db_.prepare("INSERT OR IGNORE INTO current_trials (hash) VALUES (?)");
    for (const TrialToStore& t : trials) {
      current.reset();
      current.bind(1, t.hash).run();
    }
    Statement unlink = db_.prepare(
        "DELETE FROM sweep_trials WHERE sweep_id = ? AND trial_hash NOT IN "
        "(SELECT hash FROM current_trials)");
    unlink.bind(1, r.sweep_id).run();
    r.unlinked = db_.changes();
    // A trial no sweep holds any more that never started is only a queue entry: it goes. Trials
    // that ran (done, failed, killed, or queued again after an attempt) keep their rows and
    // metrics, and a later version of a sweep that holds one again finds it as it was.
    db_.exec(
        "DELETE FROM trials WHERE status = 'queued' AND attempts = 0 AND "
        "hash NOT IN (SELECT trial_hash FROM sweep_trials) AND "
        "NOT EXISTS (SELECT 1 FROM metrics WHERE metrics.trial_hash = trials.hash)");
    r.dequeued = db_.changes();
    return r;
  });
}

std::vector<std::string> ResultsStore::prepare_run(int64_t sweep_id, const RunPolicy& policy) {
  return db_.write([&] {
    std::vector<std::string> discarded;
    const char* in_sweep = "hash IN (SELECT trial_hash FROM sweep_trials WHERE sweep_id = ?1)";
    if (policy.force) {
      Statement select = db_.prepare(fmt::format(
          "SELECT hash FROM trials WHERE status IN ('done', 'diverged') AND {}", in_sweep));
      select.bind(1, sweep_id);
      while (select.step()) discarded.push_back(select.text(0));
      Statement reset = db_.prepare(fmt::format(
          "UPDATE trials SET status = 'queued', attempts = 0, error = NULL, epochs_done = 0, "
          "wall_s = NULL, core_s = NULL WHERE status IN ('done', 'diverged') AND {}",
          in_sweep));
      reset.bind(1, sweep_id).run();
      Statement forget = db_.prepare(fmt::format(
          "DELETE FROM metrics WHERE trial_hash IN (SELECT hash FROM trials WHERE {} AND "
          "status = 'queued' AND attempts = 0)",
          in_sweep));
      forget.bind(1, sweep_id).run();
    }
    if (policy.retry_failed) {
      Statement retry = db_.prepare(fmt::format(
          "UPDATE trials SET status = 'queued', attempts = 0 WHERE status = 'failed' AND {}",
          in_sweep));
      retry.bind(1, sweep_id).run();
    }
    // Killed trials were stopped by a user, not by a fault: they continue.
    Statement killed = db_.prepare(fmt::format(
        "UPDATE trials SET status = 'queued' WHERE status = 'killed' AND {}", in_sweep));
    killed.bind(1, sweep_id).run();
    Statement failed = db_.prepare(fmt::format(
        "UPDATE trials SET status = 'queued' WHERE status = 'failed' AND attempts < ?2 AND {}",
        in_sweep));
    failed.bind(1, sweep_id).bind(2, policy.max_attempts).run();
    return discarded;
  });
}

std::vector<std::string> ResultsStore::requeue_abandoned(const std::string& this_host, double now) {
  return db_.write([&] {
    std::vector<std::string> hashes;
    Statement running =
        db_.prepare("SELECT hash, runner, pid, lease_until FROM trials WHERE status = 'running'");
    while (running.step()) {
      const bool expired = running.is_null(3) || running.real(3) < now;
      // The runner's host is the start of its id (host:pid:start time); `host` is where the
      // trial runs, another machine's under MPI.
      const std::string runner = running.text(1);
      const bool local_and_dead =
          runner.substr(0, runner.find(':')) == this_host && !process_exists(running.integer(2));
      if (expired || local_and_dead) hashes.push_back(running.text(0));
    }
    // The runner's death is not the trial's fault: give the attempt back.
    Statement requeue = db_.prepare(
        "UPDATE trials SET status = 'queued', attempts = max(attempts - 1, 0), runner = NULL, "
        "pid = NULL, lease_until = NULL WHERE hash = ? AND status = 'running'");
    for (const auto& hash : hashes) {
      requeue.reset();
      requeue.bind(1, hash).run();
    }
    return hashes;
  });
}

std::optional<ClaimedTrial> ResultsStore::claim_next_trial(int64_t sweep_id,
                                                           const RunnerIdentity& runner, double now,
                                                           double lease_seconds,
                                                           const std::string& worker_host,
                                                           int max_ranks) {
  return db_.write([&]() -> std::optional<ClaimedTrial> {
    // CROSS JOIN keeps SQLite walking the sweep's trials in position order (stopping at the
    // first queued one, its status read from the trials_hash_status index) rather than
    // collecting every queued trial of the database and sorting them (schema.cpp).
    Statement next = db_.prepare(
        "SELECT t.hash, t.config, st.position, t.attempts FROM sweep_trials st "
        "CROSS JOIN trials t ON t.hash = st.trial_hash "
        "WHERE st.sweep_id = ? AND t.status = 'queued' AND " +
        std::string(kRanksOf) + " <= ? ORDER BY st.position LIMIT 1");
    next.bind(1, sweep_id).bind(2, int64_t{max_ranks});
    if (!next.step()) return std::nullopt;
    ClaimedTrial claim;
    claim.hash = next.text(0);
    const std::string source = fmt::format("{}: trials.config of {}", db_.path(), claim.hash);
    claim.config = parse_json_data<OrderedJson>(next.text(1), source);
    if (!claim.config.is_object()) fail("{} is not a JSON object", source);
    claim.position = next.integer(2);
    claim.attempt = next.integer(3) + 1;
    Statement take = db_.prepare(
        "UPDATE trials SET status = 'running', attempts = attempts + 1, runner = ?, host = ?, "
        "pid = ?, heartbeat_at = ?, lease_until = ?, started_at = coalesce(started_at, ?), "
        "error = NULL WHERE hash = ? AND status = 'queued'");
    take.bind(1, runner.id).bind(2, worker_host.empty() ? runner.host : worker_host);
    take.bind(3, runner.pid).bind(4, now);
    take.bind(5, now + lease_seconds).bind(6, now).bind(7, claim.hash).run();
    if (db_.changes() != 1) fail("internal: trial {} changed under a write lock", claim.hash);
    return claim;
  });
}

void ResultsStore::heartbeat(const RunnerIdentity& runner, double now, double lease_seconds) {
  db_.write([&] {
    Statement s = db_.prepare(
        "UPDATE trials SET heartbeat_at = ?, lease_until = ? WHERE runner = ? AND status = "
        "'running'");
    s.bind(1, now).bind(2, now + lease_seconds).bind(3, runner.id).run();
  });
}

void ResultsStore::record_epoch(const std::string& hash, const EpochRecord& r, double now,
                                EpochWrite write) {
  db_.write([&] {
    Statement put = db_.prepare(
        fmt::format("INSERT OR {} INTO metrics (trial_hash, name, step, epoch, value, time) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    write == EpochWrite::replace ? "REPLACE" : "IGNORE"));
    auto metric = [&](const char* name, double value) {
      put.reset();
      put.bind(1, hash).bind(2, name).bind(3, r.step).bind(4, r.epoch).bind(5, value).bind(6, now);
      put.run();
    };
    metric("train_loss", r.train_loss);
    metric("train_acc", r.train_acc);
    if (r.val.images > 0) {
      metric("val_loss", r.val.loss);
      metric("val_acc", r.val.accuracy);
    }
    metric("test_loss", r.test.loss);
    metric("test_acc", r.test.accuracy);
    metric("lr", r.lr);
    metric("epoch_s", r.epoch_s);
    metric("img_per_s", r.img_per_s);
    Statement progress =
        db_.prepare("UPDATE trials SET epochs_done = max(epochs_done, ?) WHERE hash = ?");
    progress.bind(1, r.epoch).bind(2, hash).run();
  });
}

void ResultsStore::record_step(const std::string& hash, int64_t epoch, int64_t step, double loss,
                               double lr, double now) {
  db_.write([&] {
    Statement put = db_.prepare(
        "INSERT OR REPLACE INTO metrics (trial_hash, name, step, epoch, value, time) "
        "VALUES (?, ?, ?, ?, ?, ?)");
    put.bind(1, hash).bind(2, "step_loss").bind(3, step).bind(4, epoch).bind(5, loss).bind(6, now);
    put.run();
    put.reset();
    put.bind(1, hash).bind(2, "step_lr").bind(3, step).bind(4, epoch).bind(5, lr).bind(6, now);
    put.run();
  });
}

void ResultsStore::finish_trial(const std::string& hash, const TrialFinish& f, double now) {
  const TrialOutcome& o = f.outcome;
  if (f.status == TrialStatus::done && !std::isfinite(o.final_test.accuracy)) {
    fail("internal: trial {} reported done without a test accuracy; not recorded as done", hash);
  }
  const EpochRecord* last = o.epochs.empty() ? nullptr : &o.epochs.back();
  db_.write([&] {
    Statement s = db_.prepare(
        "UPDATE trials SET status = ?1, error = ?2, finished_at = ?3, runner = NULL, "
        "lease_until = NULL, test_acc = ?4, test_loss = ?5, val_acc = ?6, val_loss = ?7, "
        "train_acc = ?8, train_loss = ?9, img_per_s = ?10, epochs_done = max(epochs_done, ?11), "
        "diverged_step = ?12, wall_s = coalesce(wall_s, 0) + ?13, "
        "core_s = coalesce(core_s, 0) + ?14, params = coalesce(?15, params), "
        "flops_per_image = coalesce(?16, flops_per_image) WHERE hash = ?17");
    s.bind(1, std::string(to_string(f.status)))
        .bind(2, f.error.empty() ? std::optional<std::string>{} : f.error);
    s.bind(3, now).bind(4, o.final_test.accuracy).bind(5, o.final_test.loss);
    s.bind(6, o.final_val.accuracy).bind(7, o.final_val.loss);
    s.bind(8, last ? last->train_acc : NAN).bind(9, last ? last->train_loss : NAN);
    s.bind(10, last ? last->img_per_s : NAN).bind(11, f.epochs_done);
    s.bind(12, o.diverged_step >= 0 ? std::optional<int64_t>(o.diverged_step) : std::nullopt);
    s.bind(13, o.wall_s).bind(14, o.core_s);
    s.bind(15, f.params > 0 ? std::optional<int64_t>(f.params) : std::nullopt);
    s.bind(16, f.flops_per_image > 0 ? std::optional<double>(f.flops_per_image) : std::nullopt);
    s.bind(17, hash).run();
  });
}

bool ResultsStore::requeue_if_attempts_left(const std::string& hash, int64_t max_attempts) {
  return db_.write([&] {
    Statement s = db_.prepare(
        "UPDATE trials SET status = 'queued' WHERE hash = ? AND status = 'failed' AND attempts < "
        "?");
    s.bind(1, hash).bind(2, max_attempts).run();
    return db_.changes() == 1;
  });
}

int64_t& StatusCounts::of(TrialStatus status) {
  switch (status) {
    case TrialStatus::queued: return queued;
    case TrialStatus::running: return running;
    case TrialStatus::done: return done;
    case TrialStatus::failed: return failed;
    case TrialStatus::diverged: return diverged;
    case TrialStatus::killed: return killed;
  }
  fail("internal: unknown trial status {}", static_cast<int>(status));
}

StatusCounts status_counts(Database& db, int64_t sweep_id) {
  StatusCounts c;
  // `t.status >= ''` (true of every status) lets SQLite read each status from the
  // trials_hash_status index (schema.cpp) instead of the trial's whole row: 6 ms instead of 25
  // for 10,000 trials. Files opened read-only may lack the index; the query works without it.
  Statement s = db.prepare(
      "SELECT t.status, count(*) FROM sweep_trials st JOIN trials t ON t.hash = st.trial_hash "
      "AND t.status >= '' WHERE st.sweep_id = ? GROUP BY t.status");
  s.bind(1, sweep_id);
  while (s.step()) {
    const auto status = parse_trial_status(s.text(0));
    if (!status) fail("{}: trial status '{}' is not one this program knows", db.path(), s.text(0));
    c.of(*status) = s.integer(1);
  }
  return c;
}

StatusCounts ResultsStore::status_counts(int64_t sweep_id) {
  return store::status_counts(db_, sweep_id);
}

int64_t ResultsStore::queued_count(int64_t sweep_id, int max_ranks) {
  Statement s = db_.prepare(
      "SELECT count(*) FROM sweep_trials st JOIN trials t ON t.hash = st.trial_hash "
      "WHERE st.sweep_id = ? AND t.status = 'queued' AND " +
      std::string(kRanksOf) + " <= ?");
  s.bind(1, sweep_id).bind(2, int64_t{max_ranks});
  s.step();
  return s.integer(0);
}

int ResultsStore::most_ranks_queued(int64_t sweep_id) {
  Statement s = db_.prepare("SELECT coalesce(max(" + std::string(kRanksOf) +
                            "), 0) FROM sweep_trials st JOIN trials t ON t.hash = st.trial_hash "
                            "WHERE st.sweep_id = ? AND t.status = 'queued'");
  s.bind(1, sweep_id);
  s.step();
  return static_cast<int>(s.integer(0));
}

}  // namespace vitsweep::store
