// MpiSession: started without a launcher it never touches MPI (so `sweep ...` behaves as before
// MPI existed); under a real mpirun every rank sees its rank, the world and the node, MPI errors
// become vitsweep::Error, and a rank that fails ends the whole job instead of leaving the others
// waiting forever.
#include "cluster/mpi_session.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <mpi.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "support/mpirun.hpp"

namespace vitsweep::cluster {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const char* const kLauncherVariables[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"};

std::string probe() { return VITSWEEP_BINARY_DIR "/tests/mpi_probe"; }

TEST(MpiSession, WithoutALauncherIsOneRankAndNeverInitialisesMpi) {
  for (const char* variable : kLauncherVariables) ::unsetenv(variable);
  // A Slurm job step without MPI is not an MPI launch.
  ::setenv("SLURM_PROCID", "0", 1);
  EXPECT_FALSE(started_by_mpi_launcher());
  {
    MpiSession session;
    EXPECT_FALSE(session.active());
    EXPECT_EQ(session.rank(), 0);
    EXPECT_EQ(session.size(), 1);
    EXPECT_EQ(session.node_size(), 1);
    EXPECT_EQ(session.node_count(), 1);
    EXPECT_EQ(session.world(), MPI_COMM_NULL);
    EXPECT_FALSE(session.host().empty());
  }
  int initialized = -1;
  MPI_Initialized(&initialized);
  EXPECT_EQ(initialized, 0);
  ::unsetenv("SLURM_PROCID");
}

TEST(MpiSession, EachLauncherVariableCounts) {
  for (const char* variable : kLauncherVariables) {
    for (const char* other : kLauncherVariables) ::unsetenv(other);
    ::setenv(variable, "0", 1);
    EXPECT_TRUE(started_by_mpi_launcher()) << variable;
    ::unsetenv(variable);
  }
}

TEST(MpiSession, UnderMpirunEveryRankKnowsItsPlace) {
  testing::TempDir dir;
  const auto r = testing::run_mpirun(3, {probe(), "info"}, dir.path(), 120);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  for (int rank = 0; rank < 3; ++rank) {
    // One machine: the node communicator holds all three ranks.
    EXPECT_THAT(r.out,
                HasSubstr(fmt::format("rank {} size 3 node_rank {} node_size 3 nodes 1 active true",
                                      rank, rank)));
  }
  EXPECT_THAT(r.out, HasSubstr("gathered 100,101,102"));
}

TEST(MpiSession, MpiErrorsBecomeErrorsWithMpisText) {
  testing::TempDir dir;
  const auto r = testing::run_mpirun(2, {probe(), "error"}, dir.path(), 120);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("caught: MPI_Bcast: MPI_ERR_ROOT: invalid root"));
  EXPECT_THAT(r.out, Not(HasSubstr("no error")));
}

TEST(MpiSession, ARankThatFailsEndsTheJob) {
  testing::TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  const auto r = testing::run_mpirun(3, {probe(), "fail", "1"}, dir.path(), 120);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("mpi_probe: rank 1 failed on purpose"));
  EXPECT_THAT(r.out, Not(HasSubstr("passed the barrier")));
  // Ended by mpirun on the rank's exit, long before the 120 s limit.
  EXPECT_LT(seconds, 60.0) << r.err;
}

// The tests' own guard (support/mpirun.hpp) when mpirun itself stops responding: here each rank
// stops mpirun (SIGSTOP to its parent) and then sleeps, so mpirun's --timeout cannot act; the
// test harness kills mpirun and both ranks grace_s after that limit.
TEST(MpiSession, AHungMpirunIsKilledWithItsRanksAfterItsLimit) {
  testing::TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  const auto r = testing::run_mpirun(2, {"/bin/sh", "-c", "kill -STOP $PPID; exec sleep 987.654"},
                                     dir.path(), /*timeout_s=*/1, /*grace_s=*/2);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 128 + SIGKILL) << r.err;
  EXPECT_THAT(r.err, HasSubstr("[test] mpirun was still running 2 s after its --timeout 1 s"));
  EXPECT_GE(seconds, 3.0);
  EXPECT_LT(seconds, 30.0);
  // No rank is left: neither `sleep 987.654` is running.
  const std::string rank_cmdline = std::string("sleep") + '\0' + "987.654" + '\0';
  const auto ranks_left = [&] {
    int left = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      left += testing::read_proc_file(entry.path().string() + "/cmdline") == rank_cmdline;
    }
    return left;
  };
  EXPECT_TRUE(testing::eventually([&] { return ranks_left() == 0; }, 10.0)) << ranks_left();
}

}  // namespace
}  // namespace vitsweep::cluster
