// `sweep status`: counts, the running trial's epoch and ETA (also after a resume), the failed
// trial's first error line, and the sweep's ETA from finished trials of the same cost.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "report/report_fixture.hpp"
#include "report/sweep_status.hpp"
#include "store/results_store.hpp"
#include "support/temp_dir.hpp"
#include "support/thrown.hpp"

namespace vitsweep::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(SweepStatus, CountsRunningTrialsWithEtaAndFailuresWithTheirFirstErrorLine) {
  testing::TempDir dir;
  testing::build_fixture_database(dir.file("r.db"));
  store::ResultsStore store(dir.file("r.db"), store::Database::Access::read_only);
  // t10 recorded its first of 2 epochs (1.5 s each) at kFixtureTime + 10; half a second later
  // one epoch is left, less the half second already spent on it.
  const std::string text = status_text(store.db(), "", testing::kFixtureTime + 10.5);
  EXPECT_THAT(text, HasSubstr("grid: 9/11 done, 1 running, 1 failed\n"));
  EXPECT_THAT(text, HasSubstr("  running  t10  attn=relu alpha=0.5 qk_norm=false gate=silu seed=0  "
                              "epoch 1/2  ETA 1.0s  on host, heartbeat 0.5s ago\n"));
  EXPECT_THAT(text, HasSubstr("  failed   t09  attn=relu alpha=1 qk_norm=true gate=none seed=1  "
                              "attempt 1  step 3: loss is \"nan\", stopped\n"));
  EXPECT_THAT(text, Not(HasSubstr("second line of the log")));
  EXPECT_THAT(text, HasSubstr("sweep ETA ~1.0s (nothing queued: the longest running trial's "
                              "ETA)\n"));
}

// A sweep of cheap trials at patch 7 (10 s each) and costly ones at patch 2 (three finished, with
// the wall times `patch2_walls`), with two patch 2 trials queued and a patch 7 trial running at
// epoch 1 of 2 (epochs of 4 s). `resumed_at`: that epoch was recorded long before now, by an
// earlier attempt.
std::string mixed_cost_status(double resumed_at,
                              std::vector<double> patch2_walls = {100, 100, 100}) {
  testing::TempDir dir;
  const std::string path = dir.file("mixed.db");
  {
    store::ResultsStore store(path);
    std::vector<store::TrialToStore> trials;
    const std::vector<int> patches = {7, 7, 7, 2, 2, 2, 2, 2};
    for (size_t i = 0; i < patches.size(); ++i) {
      const OrderedJson identity = {{"dataset", "synthetic"},
                                    {"patch", patches[i]},
                                    {"attn", "relu"},
                                    {"epochs", 2},
                                    {"seed", static_cast<int>(i)}};
      trials.push_back(
          {fmt::format("t{:02d}", i), identity.dump(), identity, static_cast<int64_t>(i)});
    }
    const auto reg = store.register_sweep({"mixed", "", "", OrderedJson::object()}, trials);
    const store::RunnerIdentity runner{"host:1:0", "host", 1};
    const double now = testing::kFixtureTime;
    for (const char* hash : {"t00", "t01", "t02", "t03", "t04", "t05"}) {
      const auto claim = store.claim_next_trial(reg.sweep_id, runner, now, 3600);
      EXPECT_EQ(claim->hash, hash);
      if (claim->hash == "t02") {  // running
        EpochRecord epoch = testing::fixture_epoch(1, 0.5);
        epoch.epoch_s = 4;
        store.record_epoch(claim->hash, epoch, resumed_at);
        continue;
      }
      store::TrialFinish finish;
      finish.status = TrialStatus::done;
      finish.outcome.final_test.accuracy = 0.5;
      const int index = std::stoi(claim->hash.substr(1));
      finish.outcome.wall_s = index >= 3 ? patch2_walls.at(static_cast<size_t>(index - 3)) : 10;
      finish.epochs_done = 2;
      store.finish_trial(claim->hash, finish, now);
    }
  }
  store::ResultsStore store(path, store::Database::Access::read_only);
  return status_text(store.db(), "", testing::kFixtureTime + 1);
}

TEST(SweepStatus, SweepEtaCountsQueuedTrialsAtThePaceOfFinishedOnesOfTheSameCost) {
  // The running trial's epoch ended 1 s ago: 3 s left. Two queued patch 2 trials at 100 s, not at
  // the 55 s mean of every finished trial.
  const std::string text = mixed_cost_status(testing::kFixtureTime);
  EXPECT_THAT(text, HasSubstr("epoch 1/2  ETA 3.0s"));
  EXPECT_THAT(text, HasSubstr("sweep ETA ~3m 23s (2 queued, about 3m 20s of trial time; 1 at a "
                              "time)"));
}

TEST(SweepStatus, OneFinishedTrialThatTookAnHourDoesNotSetThePaceOfTheQueuedOnes) {
  // A patch 2 trial paused for an hour (3,700 s of wall time): the queued ones still take 100 s
  // each, not the mean 1,300 s.
  const std::string text = mixed_cost_status(testing::kFixtureTime, {100, 3700, 100});
  EXPECT_THAT(text, HasSubstr("sweep ETA ~3m 23s (2 queued, about 3m 20s of trial time; 1 at a "
                              "time)"));
}

TEST(SweepStatus, ATrialResumedAfterItsLastEpochCountsTheEpochInProgressWhole) {
  // Its last epoch was recorded an hour before now: a resume, not an epoch an hour overdue.
  const std::string text = mixed_cost_status(testing::kFixtureTime - 3600);
  EXPECT_THAT(text, HasSubstr("epoch 1/2  ETA 4.0s"));
}

// Two running trials, each one 4 s epoch in, of 2 and 4 epochs (4 s and 12 s left), after a
// finished trial of 3 epochs that took 100 s; `queue_one`: one more trial like it is queued.
std::string tail_status(bool queue_one) {
  testing::TempDir dir;
  const std::string path = dir.file("tail.db");
  const double now = testing::kFixtureTime;
  {
    store::ResultsStore store(path);
    std::vector<store::TrialToStore> trials;
    std::vector<int> epochs = {3, 2, 4};
    if (queue_one) epochs.push_back(3);
    for (size_t i = 0; i < epochs.size(); ++i) {
      const OrderedJson identity = {{"dataset", "synthetic"}, {"epochs", epochs[i]}, {"seed", i}};
      trials.push_back({fmt::format("t{}", i), identity.dump(), identity, static_cast<int64_t>(i)});
    }
    const auto reg = store.register_sweep({"tail", "", "", OrderedJson::object()}, trials);
    const store::RunnerIdentity runner{"host:1:0", "host", 1};
    for (int i = 0; i < 3; ++i) {
      const auto claim = store.claim_next_trial(reg.sweep_id, runner, now, 3600);
      if (i == 0) {
        store::TrialFinish finish;
        finish.status = TrialStatus::done;
        finish.outcome.final_test.accuracy = 0.5;
        finish.outcome.wall_s = 100;
        finish.epochs_done = 3;
        store.finish_trial(claim->hash, finish, now);
        continue;
      }
      EpochRecord epoch = testing::fixture_epoch(1, 0.5);
      epoch.epoch_s = 4;
      store.record_epoch(claim->hash, epoch, now);
    }
  }
  store::ResultsStore store(path, store::Database::Access::read_only);
  return status_text(store.db(), "", now);
}

TEST(SweepStatus, WithNothingQueuedTheSweepEndsWithItsLongestRunningTrial) {
  // 12 s, not the two trials' mean (8 s).
  const std::string text = tail_status(false);
  EXPECT_THAT(text, HasSubstr("epoch 1/2  ETA 4.0s"));
  EXPECT_THAT(text, HasSubstr("epoch 1/4  ETA 12.0s"));
  EXPECT_THAT(text, HasSubstr("sweep ETA ~12.0s (nothing queued"));
  EXPECT_THAT(text, Not(HasSubstr("of trial time")));
}

TEST(SweepStatus, AQueuedTrialWaitsForTheFirstFreeSlotAndRunsAlone) {
  // The queued trial starts when the 4 s one ends and takes 100 s: the sweep ends in 104 s, not
  // in (100 + 4 + 12) / 2 = 58 s as if the two slots shared it.
  const std::string text = tail_status(true);
  EXPECT_THAT(text, HasSubstr("sweep ETA ~1m 44s (1 queued, about 1m 40s of trial time; 2 at a "
                              "time)"));
}

TEST(SweepStatus, ARunningTrialWithoutAnEpochIsExpectedToTakeAsLongAsFinishedOnesLikeIt) {
  // t0 finished in 100 s; t1 started 30 s ago and has no epoch yet; t2 is queued. t1 has 70 s
  // left, and t2 starts when it ends: the sweep ends in 170 s, not 100 s as if t1 ended now.
  testing::TempDir dir;
  const std::string path = dir.file("first_epoch.db");
  const double now = testing::kFixtureTime;
  {
    store::ResultsStore store(path);
    std::vector<store::TrialToStore> trials;
    for (int i = 0; i < 3; ++i) {
      const OrderedJson identity = {{"dataset", "synthetic"}, {"epochs", 3}, {"seed", i}};
      trials.push_back({fmt::format("t{}", i), identity.dump(), identity, i});
    }
    const auto reg = store.register_sweep({"first", "", "", OrderedJson::object()}, trials);
    const store::RunnerIdentity runner{"host:1:0", "host", 1};
    const auto first = store.claim_next_trial(reg.sweep_id, runner, now - 200, 3600);
    store::TrialFinish finish;
    finish.status = TrialStatus::done;
    finish.outcome.final_test.accuracy = 0.5;
    finish.outcome.wall_s = 100;
    finish.epochs_done = 3;
    store.finish_trial(first->hash, finish, now - 100);
    store.claim_next_trial(reg.sweep_id, runner, now - 30, 3600);
  }
  store::ResultsStore store(path, store::Database::Access::read_only);
  const std::string text = status_text(store.db(), "", now);
  EXPECT_THAT(text, HasSubstr("epoch 0/3  ETA ~1m 10s (no epoch yet: the pace of trials like it)"));
  EXPECT_THAT(text, HasSubstr("sweep ETA ~2m 50s (1 queued"));
}

TEST(SweepStatus, UnknownSweepIsAUsageErrorNamingTheKnownOnes) {
  testing::TempDir dir;
  testing::build_fixture_database(dir.file("r.db"));
  store::ResultsStore store(dir.file("r.db"), store::Database::Access::read_only);
  EXPECT_THAT(testing::thrown_message<UsageError>([&] { status_text(store.db(), "gird", 0); }),
              HasSubstr("no sweep named 'gird'"));
}

}  // namespace
}  // namespace vitsweep::report
