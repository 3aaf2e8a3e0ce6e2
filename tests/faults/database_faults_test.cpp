// The results database under hostile conditions: a read-only file or folder, another writer
// holding the lock, a full disk during trials, a runner killed with -9 over and over, SIGTERM.
// Each ends in a clear error or a clean stop; nothing stored is lost or corrupted; a later
// `sweep run` finishes the job.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cstring>
#include <random>

#include "store/database.hpp"
#include "support/process.hpp"
#include "support/sweep_fixtures.hpp"

namespace vitsweep {
namespace {

using testing::eventually;
using ::testing::HasSubstr;
using testing::TempDir;

constexpr const char* kTinySweep = R"({
  "name": "faults",
  "base": {"dataset": "synthetic", "synthetic_size": 8, "synthetic_train": 256,
           "synthetic_test": 64, "model": "nano/4", "epochs": 2, "batch_size": 32},
  "grid": {"attn": ["softmax", "relu"]},
  "seeds": 2
})";

const std::string kSlowSweep = testing::slow_sweep();

std::string query_one(const std::string& db, const std::string& sql) {
  store::Database database(db, store::Database::Access::read_only);
  store::Statement s = database.prepare(sql);
  s.step();
  return s.text(0);
}

std::vector<std::string> run_args(const std::string& db) {
  return {"run", "sweep.json", "--db", db, "--jobs", "2", "--threads", "1", "--quiet"};
}

std::vector<std::string> as_nobody(std::vector<std::string> args) {
  std::vector<std::string> argv = {"/usr/sbin/runuser", "-u", "nobody", "--",
                                   testing::sweep_program()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// Every trial's log.txt under `runs`, for failure messages.
std::string trial_logs(const std::string& runs) {
  std::string text;
  std::error_code none;
  for (const auto& trial : std::filesystem::directory_iterator(runs, none)) {
    text += "--- " + trial.path().filename().string() + "/log.txt\n" +
            testing::read_file((trial.path() / "log.txt").string());
  }
  return text;
}

int lines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

TEST(DatabaseFaults, ReadOnlyFileIsRefusedAndLeftUnchanged) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run the program as another user";
  TempDir dir;
  testing::write_file(dir.file("sweep.json"), kTinySweep);
  ASSERT_EQ(testing::run_sweep(run_args("db/r.db"), dir.path()).exit_code, 0);
  const std::string db = dir.file("db/r.db");
  // Checkpoint the WAL into the file so the bytes compared below are the whole database.
  {
    store::Database(db, store::Database::Access::read_write)
        .exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  std::filesystem::permissions(dir.path(), std::filesystem::perms(0755));
  std::filesystem::permissions(dir.file("db"), std::filesystem::perms(0755));
  std::filesystem::permissions(db, std::filesystem::perms(0444));
  const std::string before = testing::read_file(db);
  const auto r = testing::run_program(as_nobody(run_args("db/r.db")), dir.path());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("db/r.db"));
  EXPECT_THAT(r.err, HasSubstr("read-only"));
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_EQ(testing::read_file(db), before);
}

TEST(DatabaseFaults, ReadOnlyFolderIsRefusedClearly) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run the program as another user";
  TempDir dir;
  testing::write_file(dir.file("sweep.json"), kTinySweep);
  std::filesystem::create_directories(dir.file("locked"));
  std::filesystem::permissions(dir.path(), std::filesystem::perms(0755));
  std::filesystem::permissions(dir.file("locked"), std::filesystem::perms(0555));
  const auto r = testing::run_program(as_nobody(run_args("locked/r.db")), dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("locked/r.db: cannot open"));
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir.file("locked/r.db")));
}

TEST(DatabaseFaults, AnotherWriterHoldingTheLockIsWaitedForThenNamed) {
  TempDir dir;
  testing::write_file(dir.file("sweep.json"), kTinySweep);
  ASSERT_EQ(testing::run_sweep(run_args("r.db"), dir.path()).exit_code, 0);
  // The sqlite3 shell takes the write lock and keeps it for 4 s.
  const pid_t holder = testing::start_program(
      {"/bin/sh", "-c", "(echo 'BEGIN IMMEDIATE;'; sleep 4; echo 'COMMIT;') | sqlite3 r.db"},
      dir.path(), dir.file("holder.out"), dir.file("holder.err"));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto start = std::chrono::steady_clock::now();
  const auto r =
      testing::run_sweep(run_args("r.db"), dir.path(), {"VITSWEEP_BUSY_TIMEOUT_MS=1000"});
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("r.db"));
  EXPECT_THAT(r.err, HasSubstr("held the write lock for more than 1 s"));
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_GE(waited, 0.9) << "it must wait for the lock before giving up";
  EXPECT_EQ(testing::wait_for_exit(holder), 0);
  // Once the other writer is done, the same command works.
  EXPECT_EQ(testing::run_sweep(run_args("r.db"), dir.path()).exit_code, 0);
  EXPECT_EQ(query_one(dir.file("r.db"), "PRAGMA integrity_check"), "ok");
}

TEST(DatabaseFaults, DiskFullDuringTrialsLosesNothingAndTheSweepResumes) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
  TempDir dir;
  testing::write_file(dir.file("sweep.json"), kTinySweep);
  const std::string disk = dir.file("disk");
  std::filesystem::create_directories(disk);
  if (::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=4m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  }
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{disk};
  // Fill the disk but for 320 KB: the database fits, the trials' checkpoints do not. (With 192
  // KB, since the claim index, a commit could hit the full disk before a checkpoint did; with
  // 768 KB once too. 256, 320 and 384 KB passed 6 runs each, 320 KB 10 more two at a time.)
  {
    std::ofstream filler(disk + "/filler", std::ios::binary);
    const std::string block(64 * 1024, 'x');
    for (int i = 0; i < 4 * 1024 / 64 - 5; ++i) filler << block;
  }
  const auto full = testing::run_sweep(run_args("disk/r.db"), dir.path());
  EXPECT_NE(full.exit_code, 0);
  EXPECT_THAT(full.out + full.err, HasSubstr("No space left on device"));
  EXPECT_EQ(lines(full.err), 1) << full.err;
  if (std::filesystem::exists(disk + "/r.db")) {
    EXPECT_EQ(query_one(disk + "/r.db", "PRAGMA integrity_check"), "ok");
    EXPECT_EQ(query_one(disk + "/r.db",
                        "SELECT count(*) FROM trials WHERE status = 'done' AND test_acc IS NULL"),
              "0")
        << "a trial was marked done without its results";
  }
  // Space comes back: the sweep finishes.
  std::filesystem::remove(disk + "/filler");
  std::vector<std::string> retry = run_args("disk/r.db");
  retry.push_back("--retry-failed");
  const auto resumed = testing::run_sweep(retry, dir.path());
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(query_one(disk + "/r.db", "SELECT count(*) FROM trials WHERE status = 'done'"), "4");
  EXPECT_EQ(query_one(disk + "/r.db", "PRAGMA integrity_check"), "ok");
}

TEST(DatabaseFaults, RepeatedKillNineOfTheRunnerLosesNothing) {
  TempDir dir;
  testing::write_file(dir.file("sweep.json"), kSlowSweep);
  std::mt19937 random(20261129);
  std::uniform_int_distribution<int> delay_ms(200, 2500);
  constexpr int kCycles = 15;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    const pid_t runner =
        testing::start_sweep(run_args("r.db"), dir.path(), dir.file("out"), dir.file("err"));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
    ::kill(runner, SIGKILL);
    testing::wait_for_exit(runner);
    ASSERT_TRUE(eventually([&] { return testing::worker_pids(dir.path()).empty(); }, 10))
        << "trial processes outlived their runner in cycle " << cycle;
    if (std::filesystem::exists(dir.file("r.db"))) {
      ASSERT_EQ(query_one(dir.file("r.db"), "PRAGMA integrity_check"), "ok") << "cycle " << cycle;
    }
  }
  const auto final_run = testing::run_sweep(run_args("r.db"), dir.path());
  ASSERT_EQ(final_run.exit_code, 0) << final_run.err << trial_logs(dir.file("runs"));
  const std::string db = dir.file("r.db");
  EXPECT_EQ(query_one(db, "SELECT count(*) FROM trials WHERE status = 'done'"), "4");
  EXPECT_EQ(query_one(db, "SELECT count(*) FROM epochs"), "12") << "each epoch recorded once";
  EXPECT_EQ(query_one(db, "SELECT max(attempts) FROM trials"), "1")
      << "a runner's death must not use up a trial's attempts";
  // The same results as a run that was never interrupted (same seeds, one thread each).
  TempDir reference;
  testing::write_file(reference.file("sweep.json"), kSlowSweep);
  ASSERT_EQ(testing::run_sweep(run_args("r.db"), reference.path()).exit_code, 0);
  const std::string sum = "SELECT printf('%.17g %.17g', sum(test_acc), sum(test_loss)) FROM trials";
  EXPECT_EQ(query_one(db, sum), query_one(reference.file("r.db"), sum));
  std::printf("kill -9 cycles: %d\n", kCycles);
}

TEST(DatabaseFaults, SigtermStopsTheRunnerCleanly) {
  TempDir dir;
  testing::write_file(dir.file("sweep.json"), kSlowSweep);
  const pid_t runner =
      testing::start_sweep(run_args("r.db"), dir.path(), dir.file("out"), dir.file("err"));
  ASSERT_TRUE(eventually(
      [&] {
        try {
          return std::filesystem::exists(dir.file("r.db")) &&
                 query_one(dir.file("r.db"),
                           "SELECT count(*) FROM trials WHERE status = 'running'") != "0";
        } catch (const std::exception&) {
          return false;
        }
      },
      60));
  ::kill(runner, SIGTERM);
  EXPECT_EQ(testing::wait_for_exit(runner), 1);
  EXPECT_THAT(testing::read_file(dir.file("err")), HasSubstr("interrupted"));
  EXPECT_EQ(query_one(dir.file("r.db"), "SELECT count(*) FROM trials WHERE status = 'running'"),
            "0");
  EXPECT_TRUE(testing::worker_pids(dir.path()).empty());
}

}  // namespace
}  // namespace vitsweep
