// What a worker inherits from the runner's environment: never the MPI launcher's state of the
// runner itself; under its own mpirun also not Slurm's or the node simulation of the sweep's ranks.
#include "runner/local_launcher.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

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

}  // namespace
}  // namespace vitsweep::runner
