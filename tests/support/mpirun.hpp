// Running a program under a real `mpirun` from tests: as root (the test machines run everything
// as root, which Open MPI refuses without the environment pair below), oversubscribed (more ranks
// than the 2 cores), unbound (ctest runs other tests beside it) and with a time limit, so a rank
// left waiting for a dead one fails the test instead of hanging it.
#pragma once

#include <cstdlib>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace vitsweep::testing {

// Under AddressSanitizer leak checking is off for the ranks: Open MPI unloads its components at
// MPI_Finalize, so LeakSanitizer cannot name the module of their process-lifetime allocations
// and no suppression matches them (our own code's leaks are checked by the tests without MPI).
inline std::vector<std::string> mpirun_environment() {
  std::vector<std::string> env = {"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"};
  if (const char* asan = std::getenv("ASAN_OPTIONS")) {
    env.push_back(std::string("ASAN_OPTIONS=") + asan + ":detect_leaks=0");
  }
  return env;
}

// `mpirun -np ranks argv...` in cwd; argv[0] is a full path.
inline CommandResult run_mpirun(int ranks, const std::vector<std::string>& argv,
                                const std::string& cwd, int timeout_s = 600) {
  std::vector<std::string> command = {
      "/usr/bin/mpirun", "--oversubscribe",         "--bind-to", "none",
      "--timeout",       std::to_string(timeout_s), "-np",       std::to_string(ranks)};
  command.insert(command.end(), argv.begin(), argv.end());
  return run_program(command, cwd, mpirun_environment());
}

}  // namespace vitsweep::testing
