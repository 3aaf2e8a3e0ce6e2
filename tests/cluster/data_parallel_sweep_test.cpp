// Data parallel trials in a sweep: a trial that sets `ranks` R > 1 takes R slots of the runner and
// runs as a real `mpirun -np R sweep worker` (lib/runner/local_launcher.hpp). Checked: its results
// are the bits of `mpirun -np R sweep train` on the same settings, not those of one process; a
// SIGTERM to the runner stops it at a step boundary (SIGUSR1 through mpirun), marked killed with no
// process left, and the next run resumes it to the same bits as an undisturbed run; `kill -9` of
// the runner leaves no rank behind; a trial wider than the run's slots stays queued, and the run
// fails naming --jobs; in a sweep across machines (mpirun of `sweep run`) a node worker runs it
// under an mpirun of its own, to the same bits.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <string>
#include <vector>

#include "common/json.hpp"
#include "support/database_queries.hpp"
#include "support/mpirun.hpp"
#include "support/sweep_fixtures.hpp"

namespace vitsweep {
namespace {

using testing::count_in;
using testing::eventually;
using ::testing::HasSubstr;
using testing::TempDir;

constexpr int kRanks = 2;

// The settings of every trial but attn and seed: epochs of about half a second on 2 x 1 thread.
std::vector<std::pair<std::string, std::string>> base_settings(int epochs) {
  return {{"dataset", "\"synthetic\""},
          {"synthetic_size", "16"},
          {"synthetic_train", std::to_string(testing::kSecondOfTrainingImages)},
          {"synthetic_test", "256"},
          {"model", "\"micro/4\""},
          {"epochs", std::to_string(epochs)},
          {"batch_size", "64"},
          {"warmup_steps", "20"}};
}

// Two trials (softmax and relu, seed 0), each over kRanks ranks.
std::string sweep_text(int epochs) {
  std::string base;
  for (const auto& [key, value] : base_settings(epochs))
    base += fmt::format("\"{}\": {}, ", key, value);
  return fmt::format(R"({{
  "name": "dp",
  "base": {{{}"ranks": {}, "seed": 0}},
  "grid": {{"attn": ["softmax", "relu"]}}
}})",
                     base, kRanks);
}

struct Row {
  std::string attn, status, error;
  int64_t attempts = 0;
  double test_loss = 0, train_loss = 0;
};

std::map<std::string, Row> rows_of(const std::string& db_path) {
  store::Database db(db_path, store::Database::Access::read_only);
  store::Statement s = db.prepare(
      "SELECT r.trial, r.attn, r.status, coalesce(t.error, ''), r.attempts, "
      "coalesce(r.test_loss, 0), coalesce(r.train_loss, 0) FROM results r "
      "JOIN trials t ON t.hash = r.trial");
  std::map<std::string, Row> rows;
  while (s.step()) {
    rows[s.text(0)] = {s.text(1), s.text(2), s.text(3), s.integer(4), s.real(5), s.real(6)};
  }
  return rows;
}

// `sweep train` of one trial's settings on `ranks` ranks (0: one process, without mpirun), one
// thread each as in the sweep: its final metrics.
OrderedJson train(const TempDir& dir, int ranks, const std::string& attn, int epochs) {
  std::vector<std::string> args = {testing::sweep_program(), "train", "--json"};
  auto set = [&](const std::string& key, std::string value) {
    if (value.starts_with('"')) value = value.substr(1, value.size() - 2);
    args.push_back("--set");
    args.push_back(key + "=" + value);
  };
  for (const auto& [key, value] : base_settings(epochs)) set(key, value);
  set("attn", attn);
  set("seed", "0");
  set("threads", "1");
  const auto r = ranks == 0 ? testing::run_program(args, dir.path())
                            : testing::run_mpirun(ranks, args, dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return OrderedJson::parse(r.out);
}

class DataParallelSweep : public ::testing::Test {
 protected:
  void write_sweep(int epochs) {
    epochs_ = epochs;
    testing::write_file(dir.file("sweep.json"), sweep_text(epochs));
  }
  std::vector<std::string> run_args(int jobs = kRanks) const {
    return {"run", "sweep.json", "--jobs", std::to_string(jobs), "--threads", "1", "--quiet"};
  }
  // The ranks' environment as every mpirun test gives it (root allowed, no leak check of MPI).
  static std::vector<std::string> env() { return testing::mpirun_environment(); }
  std::string db() const { return dir.file("results/sweep.db"); }

  pid_t start_run() const {
    return testing::start_sweep(run_args(), dir.path(), dir.file("run.out"), dir.file("run.err"),
                                env());
  }
  bool a_trial_is_past_its_first_epoch() const {
    return testing::trials_running_past_first_epoch(db(), 1, 120);
  }
  bool no_process_left() const {
    return eventually([&] { return testing::worker_pids(dir.path()).empty(); }, 10);
  }

  // Every trial done, with the bits of `mpirun -np kRanks sweep train` of its settings.
  void expect_equal_to_sweep_train(int64_t claims) const {
    const auto rows = rows_of(db());
    ASSERT_EQ(rows.size(), 2u);
    for (const auto& [hash, row] : rows) {
      EXPECT_EQ(row.status, "done") << hash << ": " << row.error;
      EXPECT_LE(row.attempts, claims) << hash;
      const OrderedJson want = train(dir, kRanks, row.attn, epochs_);
      EXPECT_EQ(row.test_loss, want.at("test_loss").get<double>()) << hash;
      EXPECT_EQ(row.train_loss, want.at("train_loss").get<double>()) << hash;
    }
  }

  TempDir dir;
  int epochs_ = 0;
};

TEST_F(DataParallelSweep, TrialRunsOnItsRanksAndEqualsSweepTrainOnAsMany) {
  write_sweep(2);
  const auto r = testing::run_sweep(run_args(), dir.path(), env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("a trial with ranks R > 1 takes R of them"));
  expect_equal_to_sweep_train(1);
  // Not one process: its gradients sum in another order, and 2 epochs of float rounding show.
  // (One process on one thread passes micro/4's 16 tokens 16 images at a time, micro_batches.hpp,
  // each rank its 32 at once. At a batch of 32 the two sums were the same: 16 + 16 either way.)
  const auto rows = rows_of(db());
  const Row& softmax =
      rows.begin()->second.attn == "softmax" ? rows.begin()->second : rows.rbegin()->second;
  EXPECT_NE(softmax.test_loss, train(dir, 0, "softmax", 2).at("test_loss").get<double>());
}

TEST_F(DataParallelSweep, SigtermStopsItAtAStepBoundaryAndItResumesToTheSameBits) {
  write_sweep(4);
  const pid_t runner = start_run();
  ASSERT_TRUE(a_trial_is_past_its_first_epoch()) << testing::read_file(dir.file("run.err"));
  ::kill(runner, SIGTERM);
  EXPECT_EQ(testing::wait_for_exit(runner), 1) << "interrupted";
  EXPECT_TRUE(no_process_left()) << "mpirun or a rank outlived the stop";
  const auto stopped = rows_of(db());
  int killed = 0;
  for (const auto& [hash, row] : stopped) {
    if (row.status != "killed") continue;
    ++killed;
    // Stopped by its own ranks between steps, not by a signal that ended them.
    EXPECT_THAT(row.error, HasSubstr("interrupted in epoch")) << hash;
  }
  EXPECT_EQ(killed, 1) << testing::read_file(dir.file("run.err"));

  const auto again = testing::run_sweep(run_args(), dir.path(), env());
  ASSERT_EQ(again.exit_code, 0) << again.err;
  expect_equal_to_sweep_train(/*claims=*/2);
}

TEST_F(DataParallelSweep, KillNineOfTheRunnerLeavesNoRankBehind) {
  write_sweep(4);
  const pid_t runner = start_run();
  ASSERT_TRUE(a_trial_is_past_its_first_epoch()) << testing::read_file(dir.file("run.err"));
  ASSERT_FALSE(testing::worker_pids(dir.path()).empty());
  ::kill(runner, SIGKILL);
  testing::wait_for_exit(runner);
  EXPECT_TRUE(no_process_left()) << "mpirun or a rank outlived the runner";
}

TEST_F(DataParallelSweep, InASweepAcrossMachinesEachRunsUnderItsNodesOwnMpirun) {
  // Two ranks, each a node of its own: rank 1's node worker starts `mpirun -np 2` from inside the
  // sweep's own MPI job, without the job's launcher variables.
  write_sweep(2);
  std::vector<std::string> command = {"/usr/bin/mpirun",
                                      "--oversubscribe",
                                      "--bind-to",
                                      "none",
                                      "--timeout",
                                      "600",
                                      "-np",
                                      "2",
                                      testing::sweep_program()};
  for (const auto& a : run_args()) command.push_back(a);
  std::vector<std::string> environment = env();
  environment.push_back("VITSWEEP_RANKS_PER_NODE=1");
  const auto r = testing::run_program(command, dir.path(), environment);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_equal_to_sweep_train(1);
}

TEST_F(DataParallelSweep, TrialWiderThanTheRunsSlotsStaysQueuedAndTheRunSaysWhy) {
  write_sweep(1);
  const auto r = testing::run_sweep(run_args(/*jobs=*/1), dir.path(), env());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("2 trial(s) left queued"));
  EXPECT_THAT(r.err, HasSubstr("--jobs"));
  EXPECT_EQ(count_in(db(), "SELECT count(*) FROM trials WHERE status = 'queued'"), 2);
}

TEST_F(DataParallelSweep, WithoutMpirunOnPathTheRunSaysSoBeforeClaimingATrial) {
  write_sweep(1);
  std::vector<std::string> environment = env();
  environment.push_back("PATH=" + dir.path());  // a folder without mpirun
  const auto r = testing::run_sweep(run_args(), dir.path(), environment);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("mpirun, which is not on PATH"));
  EXPECT_EQ(count_in(db(), "SELECT count(*) FROM trials WHERE status = 'queued'"), 2);
}

}  // namespace
}  // namespace vitsweep
