// The scheduler's steps one at a time (events, exits, ETA), then the whole loop on a real SQLite
// store with a scripted launcher standing in for worker processes (the real processes are in
// tests/cli and tests/faults): retries, stops, fail-fast, the grace period and capacity.
#include "runner/scheduler.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <deque>
#include <map>
#include <set>
#include <tuple>

#include "store/database.hpp"
#include "support/temp_dir.hpp"

namespace vitsweep::runner {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using vitsweep::testing::TempDir;

ExitStatus exited(int code) { return {false, code, 0}; }
ExitStatus killed_by(int signal) { return {true, 0, signal}; }

TrialOutcome outcome(TrialStatus status, double acc = 0.8) {
  TrialOutcome o;
  o.status = status;
  o.final_test.accuracy = acc;
  o.final_test.loss = 0.5;
  if (status == TrialStatus::diverged) o.message = "diverged at step 7: loss is nan";
  if (status == TrialStatus::killed) o.message = "interrupted in epoch 2 at step 40";
  return o;
}

TrialSlot ended_with(TrialStatus status) {
  TrialSlot slot;
  slot.ended = true;
  slot.finish.outcome = outcome(status);
  return slot;
}

TEST(ClassifyExit, ReportedOutcomesBecomeTheirStatus) {
  EXPECT_EQ(classify_exit(ended_with(TrialStatus::done), exited(0), "", false).status,
            TrialStatus::done);
  const auto diverged = classify_exit(ended_with(TrialStatus::diverged), exited(0), "", false);
  EXPECT_EQ(diverged.status, TrialStatus::diverged);
  EXPECT_EQ(diverged.error, "diverged at step 7: loss is nan");
  const auto stopped = classify_exit(ended_with(TrialStatus::killed), exited(0), "", false);
  EXPECT_EQ(stopped.status, TrialStatus::killed);
  EXPECT_EQ(stopped.error, "interrupted in epoch 2 at step 40");
}

TEST(ClassifyExit, AnyOtherExitIsAFailureWithItsLastLogLine) {
  const TrialSlot running;  // no "end" event
  const auto error = classify_exit(running, exited(1), "config.json: key 'alpha': expected", false);
  EXPECT_EQ(error.status, TrialStatus::failed);
  EXPECT_EQ(error.error, "config.json: key 'alpha': expected (exited with status 1)");
  // A signal says more than whatever the log last held; so does an empty log or our own header.
  EXPECT_EQ(classify_exit(running, killed_by(SIGSEGV), "epoch 1: ...", false).error,
            "killed by SIGSEGV");
  EXPECT_EQ(classify_exit(running, exited(3), "", false).error, "exited with status 3");
  EXPECT_EQ(classify_exit(running, exited(3), "--- attempt 1 by h:1:2 ---", false).error,
            "exited with status 3");
  // "end" then a non-zero exit is still a failure: the worker did not finish cleanly.
  EXPECT_EQ(classify_exit(ended_with(TrialStatus::done), exited(1), "", false).status,
            TrialStatus::failed);
}

TEST(ClassifyExit, ASignalWhileStoppingIsAStopNotACrash) {
  const TrialSlot running;
  EXPECT_EQ(classify_exit(running, killed_by(SIGKILL), "", true).status, TrialStatus::killed);
  EXPECT_EQ(classify_exit(running, killed_by(SIGKILL), "", false).status, TrialStatus::failed);
  EXPECT_EQ(classify_exit(running, exited(2), "bad", true).status, TrialStatus::failed);
}

TEST(ApplyEvent, ProgressEpochsAndTheOutcomeLandInTheSlot) {
  TrialSlot slot;
  TrialEvent start;
  start.kind = TrialEvent::Kind::start;
  start.start = {.epochs_done = 2,
                 .steps_per_epoch = 10,
                 .total_steps = 50,
                 .params = 1234,
                 .flops_per_image = 5e6};
  apply_event(slot, start);
  EXPECT_EQ(slot.trial.epoch, 2);
  EXPECT_EQ(slot.trial.total_steps, 50);
  EXPECT_EQ(slot.finish.params, 1234);
  EXPECT_EQ(slot.finish.epochs_done, 2);
  TrialEvent progress;
  progress.kind = TrialEvent::Kind::progress;
  progress.progress = {.epoch = 3, .step = 27, .total_steps = 50};
  apply_event(slot, progress);
  EXPECT_EQ(slot.trial.step, 27);
  TrialEvent epoch;
  epoch.kind = TrialEvent::Kind::epoch;
  epoch.epoch.epoch = 3;
  epoch.epoch.step = 30;
  apply_event(slot, epoch);
  EXPECT_EQ(slot.finish.epochs_done, 3);
  EXPECT_EQ(slot.trial.step, 30);
  EXPECT_FALSE(slot.ended);
  TrialEvent end;
  end.kind = TrialEvent::Kind::end;
  end.outcome = outcome(TrialStatus::done, 0.91);
  apply_event(slot, end);
  EXPECT_TRUE(slot.ended);
  EXPECT_DOUBLE_EQ(slot.finish.outcome.final_test.accuracy, 0.91);
}

TEST(EstimateEta, FromFinishedTrialsOrElseFromTheRunningOnesPace) {
  const std::vector<double> none;
  // Nothing finished and nothing has taken a step: unknown.
  EXPECT_EQ(estimate_eta(none, std::vector<RunningTrial>{}, 5, 2, 100), -1);
  // Two finished in 10 s and 20 s (mean 15); 3 queued, one running half-way; 2 at a time.
  const std::vector<double> finished = {10, 20};
  std::vector<RunningTrial> running(1);
  running[0].step = 50;
  running[0].total_steps = 100;
  EXPECT_DOUBLE_EQ(estimate_eta(finished, running, 3, 2, 100), (3 + 0.5) * 15 / 2);
  // Before any finishes: the running trial took 40 s for a quarter, so 160 s per trial.
  running[0].started = 60;
  running[0].step = 25;
  EXPECT_DOUBLE_EQ(estimate_eta(none, running, 1, 1, 100), (1 + 0.75) * 160);
}

// What one attempt of a trial does, as a list of reports after it starts; `stoppable`: it
// answers a stop at a step boundary with "interrupted" and exit 0, like the real worker.
struct Script {
  std::vector<std::string> lines;
  ExitStatus exit;
  bool hangs = false;  // never exits by itself (for stop and grace tests)
  bool stoppable = true;
};

std::string start_line() { return encode(StartEvent{0, 10, 20, 100, 1e6}); }
std::string epoch_line(int64_t epoch, double acc) {
  EpochRecord record;
  record.epoch = epoch;
  record.step = 10 * epoch;
  record.train_loss = 1.0;
  record.train_acc = 0.5;
  record.test.loss = 0.6;
  record.test.accuracy = acc;
  record.test.images = 100;
  return encode_epoch(record);
}
std::string end_line(TrialStatus status, double acc) { return encode_end(outcome(status, acc)); }

Script finishes(double acc) {
  return {{start_line(), epoch_line(1, acc - 0.1), epoch_line(2, acc),
           end_line(TrialStatus::done, acc)},
          exited(0)};
}

// A launcher that plays scripts instead of running processes: each wait() delivers the next
// report of every running trial.
class ScriptedLauncher : public TrialLauncher {
 public:
  explicit ScriptedLauncher(int slots) : slots_(static_cast<size_t>(slots)) {}

  // Scripts for successive attempts of a trial; the last one repeats.
  void script(const std::string& hash, std::vector<Script> attempts) { scripts_[hash] = attempts; }

  int capacity() const override { return static_cast<int>(slots_.size()); }
  std::optional<LaunchSlot> free_slot() const override {
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].empty()) return LaunchSlot{static_cast<int>(i), "host-" + std::to_string(i)};
    }
    return std::nullopt;
  }
  void start(const LaunchSlot& slot, const TrialLaunch& launch) override {
    EXPECT_TRUE(slots_.at(static_cast<size_t>(slot.index)).empty()) << "slot reused while busy";
    slots_[static_cast<size_t>(slot.index)] = launch.hash;
    auto& attempts = scripts_.at(launch.hash);
    const size_t n = static_cast<size_t>(launch.attempt - 1);
    playing_[launch.hash] = {attempts[std::min(n, attempts.size() - 1)], 0};
    started.push_back(launch.hash);
    max_running = std::max(max_running, running());
  }
  std::vector<LaunchReport> wait(double) override {
    std::vector<LaunchReport> reports;
    for (auto& hash : slots_) {
      if (hash.empty()) continue;
      auto& [script, next] = playing_.at(hash);
      if (next < script.lines.size()) {
        reports.push_back({LaunchReport::Kind::line, hash, script.lines[next++], {}, {}});
      } else if (!script.hangs) {
        reports.push_back({LaunchReport::Kind::exited, hash, {}, script.exit, "worker error"});
        playing_.erase(hash);
        hash.clear();
      }
    }
    return reports;
  }
  void stop(const std::string& hash, StopMode mode) override {
    stops.emplace_back(hash, mode);
    auto it = playing_.find(hash);
    if (it == playing_.end()) return;
    Script& script = it->second.first;
    if (mode == StopMode::now) {
      script = {{}, killed_by(SIGKILL)};
    } else if (script.stoppable) {
      script.lines.push_back(end_line(TrialStatus::killed, 0.5));
      script.exit = exited(0);
      script.hangs = false;
    }
  }

  int running() const {
    int n = 0;
    for (const auto& h : slots_) n += !h.empty();
    return n;
  }

  std::vector<std::string> started;
  std::vector<std::pair<std::string, StopMode>> stops;
  int max_running = 0;

 private:
  std::vector<std::string> slots_;
  std::map<std::string, std::vector<Script>> scripts_;
  std::map<std::string, std::pair<Script, size_t>> playing_;
};

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest() : store(dir.file("r.db")) {
    std::vector<store::TrialToStore> trials;
    for (int i = 0; i < 4; ++i) {
      const std::string hash = "trial" + std::to_string(i);
      trials.push_back(
          {hash, fmt::format(R"({{"seed":{}}})", i), OrderedJson{{"seed", i}, {"epochs", 2}}, i});
    }
    sweep_id = store.register_sweep({"s", "", "s.json", OrderedJson::object()}, trials).sweep_id;
    store.prepare_run(sweep_id, {});
    options.poll_seconds = 0;
    options.stop_requested = [this] { return stop_after_waits >= 0 && waits >= stop_after_waits; };
  }

  RunSummary run(ScriptedLauncher& launcher) {
    // Count turns of the loop through the launcher's waits.
    struct Counting : TrialLauncher {
      ScriptedLauncher& inner;
      int& waits;
      Counting(ScriptedLauncher& l, int& w) : inner(l), waits(w) {}
      int capacity() const override { return inner.capacity(); }
      std::optional<LaunchSlot> free_slot() const override { return inner.free_slot(); }
      void start(const LaunchSlot& s, const TrialLaunch& l) override { inner.start(s, l); }
      std::vector<LaunchReport> wait(double t) override {
        ++waits;
        return inner.wait(t);
      }
      void stop(const std::string& h, StopMode m) override { inner.stop(h, m); }
    } counting(launcher, waits);
    RunnerListener listener;
    listener.on_trial_finished = [this](const FinishedTrial& f, const store::StatusCounts& c) {
      finished.push_back(f);
      counts_shown.push_back(c);
      counts_stored.push_back(store.status_counts(sweep_id));
    };
    return Scheduler(store, sweep_id, counting, options, listener).run();
  }

  std::string status_of(const std::string& hash) {
    store::Statement s = store.db().prepare("SELECT status FROM trials WHERE hash = ?");
    s.bind(1, hash);
    s.step();
    return s.text(0);
  }

  TempDir dir;
  store::ResultsStore store;
  int64_t sweep_id = 0;
  SchedulerOptions options;
  int waits = 0, stop_after_waits = -1;
  std::vector<FinishedTrial> finished;
  // At each finished trial: the counts the listener was given, and the database's.
  std::vector<store::StatusCounts> counts_shown, counts_stored;

  // The counts each finished trial is shown with are the database's (retries, kills and
  // failures included), though they are read from it at most once a second.
  void expect_counts_shown_are_the_databases() {
    ASSERT_EQ(counts_shown.size(), counts_stored.size());
    for (size_t i = 0; i < counts_shown.size(); ++i) {
      const store::StatusCounts& a = counts_shown[i];
      const store::StatusCounts& b = counts_stored[i];
      EXPECT_EQ(std::tie(a.queued, a.running, a.done, a.failed, a.diverged, a.killed),
                std::tie(b.queued, b.running, b.done, b.failed, b.diverged, b.killed))
          << "finished trial " << i;
    }
  }
};

TEST_F(SchedulerTest, RunsEveryTrialOnceAtMostCapacityAtATimeAndRecordsEpochs) {
  ScriptedLauncher launcher(2);
  for (int i = 0; i < 4; ++i)
    launcher.script("trial" + std::to_string(i), {finishes(0.8 + i / 100.0)});
  const RunSummary summary = run(launcher);
  EXPECT_EQ(summary.counts.done, 4);
  EXPECT_THAT(launcher.started, ElementsAre("trial0", "trial1", "trial2", "trial3"));
  EXPECT_EQ(launcher.max_running, 2);
  store::Statement epochs =
      store.db().prepare("SELECT count(*), max(test_acc) FROM epochs WHERE trial = 'trial3'");
  epochs.step();
  EXPECT_EQ(epochs.integer(0), 2);
  EXPECT_DOUBLE_EQ(epochs.real(1), 0.83);
  store::Statement done =
      store.db().prepare("SELECT test_acc, params FROM trials WHERE hash = 'trial3'");
  done.step();
  EXPECT_DOUBLE_EQ(done.real(0), 0.83);
  EXPECT_EQ(done.integer(1), 100);
}

TEST_F(SchedulerTest, AFailureIsRetriedUntilMaxAttemptsThenStaysFailed) {
  ScriptedLauncher launcher(1);
  launcher.script("trial0", {{{start_line()}, killed_by(SIGSEGV)}, finishes(0.9)});
  launcher.script("trial1", {{{}, exited(1)}});  // fails every time
  launcher.script("trial2", {finishes(0.8)});
  launcher.script("trial3", {finishes(0.8)});
  options.max_attempts = 2;
  const RunSummary summary = run(launcher);
  EXPECT_EQ(status_of("trial0"), "done");
  EXPECT_EQ(status_of("trial1"), "failed");
  EXPECT_EQ(summary.counts.done, 3);
  EXPECT_EQ(summary.counts.failed, 1);
  ASSERT_GE(finished.size(), 2u);
  EXPECT_EQ(finished[0].finish.error, "killed by SIGSEGV");
  EXPECT_TRUE(finished[0].will_retry);
  store::Statement attempts =
      store.db().prepare("SELECT attempts, error FROM trials WHERE hash = 'trial1'");
  attempts.step();
  EXPECT_EQ(attempts.integer(0), 2);
  EXPECT_EQ(attempts.text(1), "worker error (exited with status 1)");
  expect_counts_shown_are_the_databases();
}

TEST(CountsView, ReadsAtMostOncePerIntervalAndFollowsMovesInBetween) {
  int reads = 0;
  store::StatusCounts stored;
  stored.queued = 5;
  CountsView view(
      [&] {
        ++reads;
        return stored;
      },
      1.0);
  EXPECT_EQ(view.at(100.0).queued, 5);
  view.move(TrialStatus::queued, TrialStatus::running);
  view.move(TrialStatus::running, TrialStatus::done);
  stored.queued = 3;  // another runner's work, not seen until the next read
  const store::StatusCounts& between = view.at(100.9);
  EXPECT_EQ(std::tie(between.queued, between.running, between.done),
            std::make_tuple(int64_t{4}, int64_t{0}, int64_t{1}));
  EXPECT_EQ(reads, 1);
  EXPECT_EQ(view.at(101.0).queued, 3);
  EXPECT_EQ(view.at(101.0).done, 0);
  EXPECT_EQ(reads, 2);
}

TEST_F(SchedulerTest, AStopRequestStopsRunningTrialsAtAStepAndMarksThemKilled) {
  ScriptedLauncher launcher(2);
  for (int i = 0; i < 4; ++i) {
    launcher.script("trial" + std::to_string(i), {{{start_line()}, exited(0), /*hangs=*/true}});
  }
  stop_after_waits = 3;
  const RunSummary summary = run(launcher);
  EXPECT_TRUE(summary.interrupted);
  EXPECT_EQ(summary.counts.killed, 2);
  EXPECT_EQ(summary.counts.queued, 2);  // never claimed
  ASSERT_EQ(launcher.stops.size(), 2u);
  EXPECT_EQ(launcher.stops[0].second, StopMode::at_step_boundary);
  EXPECT_EQ(status_of("trial0"), "killed");
  EXPECT_EQ(store.queued_count(sweep_id), 2);
  expect_counts_shown_are_the_databases();
}

TEST_F(SchedulerTest, ATrialThatIgnoresTheStopIsKilledAfterTheGracePeriod) {
  ScriptedLauncher launcher(1);
  Script stubborn{{start_line()}, exited(0), /*hangs=*/true, /*stoppable=*/false};
  for (int i = 0; i < 4; ++i) launcher.script("trial" + std::to_string(i), {stubborn});
  stop_after_waits = 2;
  options.stop_grace_seconds = 0.05;
  options.poll_seconds = 0.01;
  const RunSummary summary = run(launcher);
  ASSERT_GE(launcher.stops.size(), 2u);
  EXPECT_EQ(launcher.stops.front().second, StopMode::at_step_boundary);
  EXPECT_EQ(launcher.stops.back().second, StopMode::now);
  // Killed by our own SIGKILL while stopping: a stop, not a crash, so it resumes next time.
  EXPECT_EQ(status_of("trial0"), "killed");
  EXPECT_EQ(summary.counts.failed, 0);
}

TEST_F(SchedulerTest, FailFastStopsTheOthersAndRetriesNothing) {
  ScriptedLauncher launcher(2);
  launcher.script("trial0", {{{start_line()}, exited(0), /*hangs=*/true}});
  launcher.script("trial1", {{{start_line()}, exited(1)}});
  launcher.script("trial2", {finishes(0.8)});
  launcher.script("trial3", {finishes(0.8)});
  options.fail_fast = true;
  const RunSummary summary = run(launcher);
  EXPECT_TRUE(summary.stopped_on_failure);
  EXPECT_EQ(status_of("trial1"), "failed");
  EXPECT_EQ(status_of("trial0"), "killed");
  EXPECT_EQ(summary.counts.queued, 2);
  EXPECT_THAT(launcher.started, ElementsAre("trial0", "trial1"));
  expect_counts_shown_are_the_databases();
}

TEST_F(SchedulerTest, TrialsAbandonedByADeadRunnerAreRequeuedFirst) {
  // A runner on another host claimed trial0 and went silent: its lease ran out.
  const auto claim = store.claim_next_trial(sweep_id, {"gone:1:1", "gone", 1}, 1000.0, 1.0);
  ASSERT_TRUE(claim);
  ScriptedLauncher launcher(1);
  for (int i = 0; i < 4; ++i) launcher.script("trial" + std::to_string(i), {finishes(0.8)});
  std::vector<std::string> notes;
  const RunSummary summary = [&] {
    RunnerListener listener;
    listener.on_note = [&](const std::string& n) { notes.push_back(n); };
    return Scheduler(store, sweep_id, launcher, options, listener).run();
  }();
  EXPECT_EQ(summary.counts.done, 4);
  EXPECT_THAT(notes, ElementsAre(HasSubstr("re-queued 1 trial(s)")));
  store::Statement attempts =
      store.db().prepare("SELECT attempts FROM trials WHERE hash = 'trial0'");
  attempts.step();
  EXPECT_EQ(attempts.integer(0), 1);  // the dead runner's attempt was given back
}

}  // namespace
}  // namespace vitsweep::runner
