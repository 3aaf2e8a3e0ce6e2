// `sweep run` under a real mpirun: one coordinator (rank 0, the only process that opens the
// database) and node workers. VITSWEEP_RANKS_PER_NODE=1 makes each of the 3 ranks a node of its
// own, as on three machines, so trials really travel over MPI to other ranks' child processes.
// Checked: every trial runs once and ends bit-identical to the same sweep on one machine without
// MPI; a worker rank killed with SIGKILL ends the job with the database intact and the next
// launch finishes it, resumed trials equal to undisturbed ones; SIGTERM to mpirun stops every
// trial cleanly, marked killed and resumable.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <thread>

#include "store/database.hpp"
#include "support/database_queries.hpp"
#include "support/mpirun.hpp"
#include "support/sweep_fixtures.hpp"

namespace vitsweep {
namespace {

using testing::count_in;
using testing::eventually;
using ::testing::HasSubstr;
using testing::TempDir;

// 2 x `seeds` trials of two epochs of about a second each on one thread.
std::string sweep_text(int seeds) {
  return fmt::format(R"({{
  "name": "mpi",
  "base": {{"dataset": "synthetic", "synthetic_size": 16, "synthetic_train": {},
           "synthetic_test": 256, "model": "micro/4", "epochs": 2, "batch_size": 32,
           "warmup_steps": 20}},
  "grid": {{"attn": ["softmax", "relu"]}},
  "seeds": {}
}})",
                     testing::kSecondOfTrainingImages, seeds);
}

struct Row {
  std::string status, host;
  int64_t attempts = 0, epochs_done = 0;
  double test_acc = 0, test_loss = 0, train_loss = 0;
};

std::map<std::string, Row> rows_of(const std::string& db_path) {
  store::Database db(db_path, store::Database::Access::read_only);
  store::Statement s = db.prepare(
      "SELECT r.trial, r.status, t.host, r.attempts, r.epochs_done, r.test_acc, r.test_loss, "
      "r.train_loss FROM results r JOIN trials t ON t.hash = r.trial");
  std::map<std::string, Row> rows;
  while (s.step()) {
    rows[s.text(0)] = {s.text(1), s.text(2), s.integer(3), s.integer(4),
                       s.real(5), s.real(6), s.real(7)};
  }
  return rows;
}

// One line per trial (hash, status, runner, pid, attempts, epochs), for failure messages.
std::string describe_trials(const std::string& db_path) {
  store::Database db(db_path, store::Database::Access::read_only);
  store::Statement s = db.prepare(
      "SELECT hash, status, coalesce(runner, '-'), coalesce(pid, 0), attempts, epochs_done "
      "FROM trials");
  std::string text;
  while (s.step()) {
    text += fmt::format("{} {} {} {} {} {}\n", s.text(0), s.text(1), s.text(2), s.integer(3),
                        s.integer(4), s.integer(5));
  }
  return text;
}

std::string integrity(const std::string& db_path) {
  store::Database db(db_path, store::Database::Access::read_only);
  store::Statement check = db.prepare("PRAGMA integrity_check");
  check.step();
  return check.text(0);
}

class MpiSweep : public ::testing::Test {
 protected:
  void SetUp() override { use_sweep(4); }
  void use_sweep(int seeds) {
    sweep = sweep_text(seeds);
    testing::write_file(dir.file("sweep.json"), sweep);
  }

  std::vector<std::string> run_args() const {
    return {
        testing::sweep_program(), "run", "sweep.json", "--jobs", "1", "--threads", "1", "--quiet"};
  }
  // mpirun with 3 ranks, each its own node, in the background.
  pid_t start_mpirun(const std::vector<std::string>& extra_env = {}) const {
    std::vector<std::string> command = {
        "/usr/bin/mpirun", "--oversubscribe", "--bind-to", "none", "--timeout", "600", "-np", "3"};
    for (const auto& a : run_args()) command.push_back(a);
    std::vector<std::string> env = testing::mpirun_environment();
    env.push_back("VITSWEEP_RANKS_PER_NODE=1");
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    return testing::start_program(command, dir.path(), dir.file("mpi.out"), dir.file("mpi.err"),
                                  env);
  }
  std::string db() const { return dir.file("results/sweep.db"); }

  // Waits until each of the 3 ranks runs a trial that has finished an epoch and goes on.
  bool every_rank_is_inside_a_trial() const {
    return testing::trials_running_past_first_epoch(db(), 3, 120);
  }

  // The same sweep on one machine, without MPI, in a folder of its own.
  std::map<std::string, Row> reference() const {
    TempDir ref;
    testing::write_file(ref.file("sweep.json"), sweep);
    std::vector<std::string> args = run_args();
    args.erase(args.begin());
    const auto r = testing::run_sweep(args, ref.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return rows_of(ref.file("results/sweep.db"));
  }

  // `claims`: how often a trial may have been claimed (a trial stopped by the user is claimed
  // again when it resumes; one whose runner died gets its attempt back).
  static void expect_equal_results(const std::map<std::string, Row>& got,
                                   const std::map<std::string, Row>& want, int64_t claims = 1) {
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [hash, row] : got) {
      ASSERT_TRUE(want.contains(hash)) << hash;
      EXPECT_EQ(row.status, "done") << hash;
      EXPECT_GE(row.attempts, 1) << hash;
      EXPECT_LE(row.attempts, claims) << hash << " ran more often than it was stopped";
      // Same seeds, same one thread per trial: the same bits, wherever the trial ran.
      EXPECT_EQ(row.test_acc, want.at(hash).test_acc) << hash;
      EXPECT_EQ(row.test_loss, want.at(hash).test_loss) << hash;
      EXPECT_EQ(row.train_loss, want.at(hash).train_loss) << hash;
    }
  }

  TempDir dir;
  std::string sweep;
};

TEST_F(MpiSweep, EveryTrialRunsOnceOverTheRanksAndEqualsOneMachine) {
  const pid_t mpirun = start_mpirun();
  // Trials this short make each other node hold one trial ahead of its slot once the first trial
  // has ended (cluster_launcher.cpp): the database then has up to 3 running + 2 held trials
  // claimed at once, and never more.
  int64_t most_claimed = 0;
  std::optional<int> exit_status;
  while (!(exit_status = testing::exit_status_if_exited(mpirun))) {
    most_claimed = std::max(most_claimed,
                            count_in(db(), "SELECT count(*) FROM trials WHERE status = 'running'"));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(*exit_status, 0) << testing::read_file(dir.file("mpi.err"));
  EXPECT_EQ(most_claimed, 5) << "3 slots and one trial held ahead on each of the 2 other nodes";
  const std::string out = testing::read_file(dir.file("mpi.out"));
  EXPECT_THAT(out, HasSubstr("sweep mpi: 8 trials"));
  EXPECT_THAT(out, HasSubstr("across 3 node(s) of an MPI job (3 ranks)"));
  EXPECT_THAT(out, HasSubstr("8/8 done"));
  EXPECT_THAT(testing::read_file(dir.file("mpi.err")), HasSubstr("3 node(s), 3 trials at once"));
  const auto rows = rows_of(db());
  for (const auto& [hash, row] : rows) {
    const std::string log = testing::read_file(dir.file("results/runs/" + hash + "/log.txt"));
    EXPECT_EQ(log.find("--- attempt 2"), std::string::npos) << hash;
  }
  // Trials were handed to the other ranks' children, not all run by rank 0: their runner's id
  // is rank 0's, so each trial's log names it, and the three slots ran at once.
  EXPECT_EQ(count_in(db(), "SELECT count(*) FROM epochs"), 16);
  expect_equal_results(rows, reference());
}

// The pid of the `sweep run` rank with this rank number under mpirun.
// Only ranks working in `folder`: other tests' sweeps may run at the same time.
pid_t rank_pid(int rank, const std::string& folder) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code gone;
    const auto cwd = std::filesystem::read_symlink(entry.path() / "cwd", gone);
    if (gone || !std::filesystem::equivalent(cwd, folder, gone) || gone) continue;
    const std::string environ = testing::read_proc_file(entry.path().string() + "/environ");
    const std::string cmdline = testing::read_proc_file(entry.path().string() + "/cmdline");
    if (cmdline.find("run") == std::string::npos ||
        cmdline.find("sweep.json") == std::string::npos) {
      continue;
    }
    if (environ.find(fmt::format("OMPI_COMM_WORLD_RANK={}", rank) + '\0') != std::string::npos) {
      return static_cast<pid_t>(std::stol(name));
    }
  }
  return -1;
}

TEST_F(MpiSweep, KillNineOfAWorkerRankEndsTheJobAndTheNextLaunchFinishes) {
  const pid_t mpirun = start_mpirun();
  ASSERT_TRUE(every_rank_is_inside_a_trial()) << testing::read_file(dir.file("mpi.err"));
  const pid_t victim = rank_pid(1, dir.path());
  ASSERT_GT(victim, 0);
  ::kill(victim, SIGKILL);
  EXPECT_NE(testing::wait_for_exit(mpirun), 0) << "the job ends when a rank dies";
  EXPECT_TRUE(eventually([&] { return testing::worker_pids(dir.path()).empty(); }, 20))
      << "trial processes outlived their ranks";
  EXPECT_EQ(integrity(db()), "ok");
  EXPECT_LT(count_in(db(), "SELECT count(*) FROM trials WHERE status = 'done'"), 8);
  // The dead rank's trial is left running; the ranks mpirun stopped marked theirs killed.
  EXPECT_GE(count_in(db(), "SELECT count(*) FROM trials WHERE status = 'running'"), 1);
  const std::string before = describe_trials(db());

  // The next launch re-queues the dead job's trials and finishes them from their checkpoints.
  const pid_t again = start_mpirun();
  ASSERT_EQ(testing::wait_for_exit(again), 0) << testing::read_file(dir.file("mpi.err"));
  EXPECT_THAT(testing::read_file(dir.file("mpi.err")), HasSubstr("re-queued")) << before;
  EXPECT_EQ(count_in(db(), "SELECT count(*) FROM epochs"), 16) << "every epoch recorded once";
  // A trial mpirun stopped (SIGTERM to the surviving ranks) was claimed twice; the dead rank's
  // trial got its attempt back.
  expect_equal_results(rows_of(db()), reference(), /*claims=*/2);
}

TEST_F(MpiSweep, SigtermToMpirunStopsEveryTrialCleanlyAndTheyResume) {
  // Open MPI 4.1 waits odls_base_sigkill_timeout seconds, passes SIGTERM on to the ranks, waits
  // as long again, then kills them; the default (1 s) leaves no time to stop a trial. Here 5 s:
  // the ranks get SIGTERM 5 s after mpirun and have 5 s to stop their trials. Sixteen trials on
  // 3 slots keep about 10 s of work queued past the first round, so trials still run when the
  // signal reaches the ranks (with 8 trials an idle machine had finished them all, seen in CI).
  use_sweep(8);
  const pid_t mpirun = start_mpirun({"OMPI_MCA_odls_base_sigkill_timeout=5"});
  ASSERT_TRUE(every_rank_is_inside_a_trial()) << testing::read_file(dir.file("mpi.err"));
  const auto sent = std::chrono::steady_clock::now();
  ::kill(mpirun, SIGTERM);
  testing::wait_for_exit(mpirun);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
  EXPECT_LT(seconds, 30.0) << "within Slurm's default KillWait";
  EXPECT_EQ(integrity(db()), "ok");
  EXPECT_EQ(count_in(db(), "SELECT count(*) FROM trials WHERE status = 'running'"), 0)
      << testing::read_file(dir.file("mpi.err"));
  // Whatever ran when the ranks got the signal.
  EXPECT_GE(count_in(db(), "SELECT count(*) FROM trials WHERE status = 'killed'"), 1)
      << describe_trials(db());
  EXPECT_LT(count_in(db(), "SELECT count(*) FROM trials WHERE status = 'done'"), 16);

  const pid_t again = start_mpirun();
  ASSERT_EQ(testing::wait_for_exit(again), 0) << testing::read_file(dir.file("mpi.err"));
  expect_equal_results(rows_of(db()), reference(), /*claims=*/2);
}

}  // namespace
}  // namespace vitsweep
