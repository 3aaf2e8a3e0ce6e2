// What a worker inherits from the runner's environment: never the MPI launcher's state of the
// runner itself; under its own mpirun also not Slurm's or the node simulation of the sweep's ranks.
// How often a worker is signalled when asked to stop more than once. How the launcher waits for a
// worker whose stdout has ended.
#include "runner/local_launcher.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/temp_dir.hpp"

namespace vitsweep::runner {
namespace {

using ::testing::Contains;
using ::testing::Not;

class WorkerEnvironment : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& [name, value] : kSet) {
      const char* before = std::getenv(name);
      saved_.emplace_back(name, before ? std::optional<std::string>(before) : std::nullopt);
      ::setenv(name, value, 1);
    }
  }
  void TearDown() override {  // the environment as it was (CI may set OMPI_ALLOW_RUN_AS_ROOT)
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name, value->c_str(), 1);
      } else {
        ::unsetenv(name);
      }
    }
  }
  std::vector<std::pair<const char*, std::optional<std::string>>> saved_;
  static constexpr std::pair<const char*, const char*> kSet[] = {
      {"OMPI_COMM_WORLD_RANK", "3"},   {"PMIX_RANK", "3"},     {"PMI_FD", "7"},
      {"OMPI_ALLOW_RUN_AS_ROOT", "1"}, {"SLURM_JOB_ID", "42"}, {"VITSWEEP_RANKS_PER_NODE", "2"},
      {"VITSWEEP_TEST_KEPT", "yes"}};
};

TEST_F(WorkerEnvironment, DropsTheLaunchersStateAndKeepsTheRest) {
  const std::vector<std::string> env = environment_without_launcher(false);
  EXPECT_THAT(env, Not(Contains("OMPI_COMM_WORLD_RANK=3")));
  EXPECT_THAT(env, Not(Contains("PMIX_RANK=3")));
  EXPECT_THAT(env, Not(Contains("PMI_FD=7")));
  EXPECT_THAT(env, Contains("OMPI_ALLOW_RUN_AS_ROOT=1"));  // the user's choice, not MPI's state
  EXPECT_THAT(env, Contains("SLURM_JOB_ID=42"));
  EXPECT_THAT(env, Contains("VITSWEEP_RANKS_PER_NODE=2"));
  EXPECT_THAT(env, Contains("VITSWEEP_TEST_KEPT=yes"));
}

TEST_F(WorkerEnvironment, UnderItsOwnMpirunAlsoDropsSlurmAndTheNodeSimulation) {
  const std::vector<std::string> env = environment_without_launcher(true);
  EXPECT_THAT(env, Not(Contains("OMPI_COMM_WORLD_RANK=3")));
  EXPECT_THAT(env, Not(Contains("SLURM_JOB_ID=42")));
  EXPECT_THAT(env, Not(Contains("VITSWEEP_RANKS_PER_NODE=2")));
  EXPECT_THAT(env, Contains("OMPI_ALLOW_RUN_AS_ROOT=1"));
  EXPECT_THAT(env, Contains("VITSWEEP_TEST_KEPT=yes"));
}

// What a launcher reports, collected by waits of 0.1 s until a condition holds or 10 s have gone.
struct WorkerReports {
  explicit WorkerReports(LocalLauncher& launcher) : launcher(launcher) {}
  template <class Done>
  void collect_until(Done done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      ++waits;
      for (LaunchReport& r : launcher.wait(0.1)) {
        if (r.kind == LaunchReport::Kind::line) lines.push_back(r.line);
        if (r.kind == LaunchReport::Kind::exited) exit = r.exit;
      }
    }
  }
  LocalLauncher& launcher;
  std::vector<std::string> lines;
  std::optional<ExitStatus> exit;
  int waits = 0;
};

// A one-slot launcher whose worker is a shell script (a stand-in for `sweep worker`), started as
// trial t1.
class ScriptWorker {
 public:
  ScriptWorker(const std::string& name, const std::string& script_text)
      : script_(dir_.file(name)), launcher_(WorkerCommand{script_, dir_.file("runs")}, 1) {
    testing::write_file(script_, script_text);
    EXPECT_EQ(::chmod(script_.c_str(), 0755), 0) << script_;
    launcher_.start(*launcher_.free_slot(), TrialLaunch{"t1", OrderedJson::object(), 1, "test"});
  }
  LocalLauncher& launcher() { return launcher_; }

 private:
  testing::TempDir dir_;
  std::string script_;
  LocalLauncher launcher_;
};

// The worker is a shell script here, a stand-in for `sweep worker` that prints how many SIGTERMs
// it got (the real worker exits on the second, which is what the launcher must not cause: on a
// node of a sweep across machines the node's own SIGTERM and rank 0's stop message both ask).
TEST(LocalLauncherStop, AStopAtAStepBoundaryIsSignalledOnceHoweverOftenItIsAsked) {
  ScriptWorker worker("count_terms.sh",
                      "#!/bin/sh\n"
                      "terms=0\n"
                      "trap 'terms=$((terms + 1))' TERM\n"
                      "echo ready\n"
                      "i=0\n"
                      "while [ $i -lt 20 ]; do sleep 0.05; i=$((i + 1)); done\n"
                      "echo terms $terms\n");
  LocalLauncher& launcher = worker.launcher();

  WorkerReports reports(launcher);
  reports.collect_until([&] { return !reports.lines.empty(); });
  ASSERT_THAT(reports.lines, Contains("ready"));
  launcher.stop("t1", StopMode::at_step_boundary);
  // Longer than the script's 50 ms sleeps: a second signal would be taken as a second one.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  launcher.stop("t1", StopMode::at_step_boundary);
  reports.collect_until([&] { return reports.exit.has_value(); });
  ASSERT_TRUE(reports.exit.has_value());
  EXPECT_TRUE(reports.exit->success()) << reports.exit->describe();
  EXPECT_THAT(reports.lines, Contains("terms 1"));
}

// A worker whose stdout has ended but which has not yet been reaped (for a moment as any process
// exits, or for long when it closes its stdout and goes on) must not make wait() return at once:
// the runner would spin a core, and a caller counting its waits would give up early. Under load
// a wait only takes longer, so the bound on the count cannot fail by chance.
TEST(LocalLauncherWait, AWorkerThatClosedItsStdoutIsWaitedForNotSpunOn) {
  ScriptWorker worker("close_stdout.sh",
                      "#!/bin/sh\n"
                      "echo closing\n"
                      "exec >&-\n"
                      "sleep 0.5\n");

  WorkerReports reports(worker.launcher());
  reports.collect_until([&] { return reports.exit.has_value(); });
  ASSERT_TRUE(reports.exit.has_value());
  EXPECT_TRUE(reports.exit->success()) << reports.exit->describe();
  EXPECT_THAT(reports.lines, Contains("closing"));
  // 0.5 s at one wait every 5 ms is 100 waits; spinning made it tens of thousands.
  EXPECT_LT(reports.waits, 400);
}

}  // namespace
}  // namespace vitsweep::runner
