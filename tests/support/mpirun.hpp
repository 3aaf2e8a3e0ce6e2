// Running a program under a real `mpirun` from tests: as root (the test machines run everything
// as root, which Open MPI refuses without the environment pair below), oversubscribed (more ranks
// than the 2 cores), unbound (ctest runs other tests beside it) and with a time limit, so a rank
// left waiting for a dead one fails the test instead of hanging it.
//
// mpirun itself can hang too: seen once (2026-12-03, Open MPI 4.1.4), after a rank failed inside
// MPI_Init ("OPAL ERROR: Unreachable in file ext3x_client.c"), mpirun left it a zombie and waited
// 20 minutes, 10 past its own --timeout. So mpirun runs in a session of its own, and grace_s after
// its limit the test kills the session (mpirun and its ranks, which Open MPI puts in process groups
// of their own) and reports the run as killed.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
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

// SIGKILL to every process of session `sid`.
inline void kill_session(pid_t sid) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (::getsid(pid) == sid) ::kill(pid, SIGKILL);
  }
}

// `mpirun -np ranks argv...` in cwd; argv[0] is a full path.
inline CommandResult run_mpirun(int ranks, const std::vector<std::string>& argv,
                                const std::string& cwd, int timeout_s = 600, int grace_s = 60) {
  std::vector<std::string> command = {"/usr/bin/setsid",
                                      "/usr/bin/mpirun",
                                      "--oversubscribe",
                                      "--bind-to",
                                      "none",
                                      "--timeout",
                                      std::to_string(timeout_s),
                                      "-np",
                                      std::to_string(ranks)};
  command.insert(command.end(), argv.begin(), argv.end());
  const std::string out = cwd + "/.stdout", err = cwd + "/.stderr";
  // setsid, started by a process that is not a group leader, calls setsid() and execs mpirun in
  // place: the pid is mpirun's and the id of its session.
  const pid_t mpirun = start_program(command, cwd, out, err, mpirun_environment());
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s + grace_s);
  std::optional<int> status;
  while (!(status = exit_status_if_exited(mpirun)) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const bool killed = !status;
  if (killed) {
    kill_session(mpirun);
    status = wait_for_exit(mpirun);
  }
  CommandResult r;
  r.exit_code = *status;
  r.out = read_file(out);
  r.err = read_file(err);
  if (killed) {
    r.err += "\n[test] mpirun was still running " + std::to_string(grace_s) +
             " s after its --timeout " + std::to_string(timeout_s) + " s: killed with its ranks\n";
  }
  return r;
}

}  // namespace vitsweep::testing
