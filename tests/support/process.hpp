// Running the real `sweep` program from tests: blocking or in the background, output captured.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.hpp"

namespace vitsweep::testing {

inline std::string sweep_program() { return VITSWEEP_BINARY_DIR "/sweep"; }

struct CommandResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string out, err;
};

// Starts `argv` (a full path first) in `cwd` with extra environment variables ("K=V") and
// stdout and stderr going to the given files.
inline pid_t start_program(std::vector<std::string> argv, const std::string& cwd,
                           const std::string& out_file, const std::string& err_file,
                           const std::vector<std::string>& env = {}) {
  std::vector<char*> c_args;
  for (auto& a : argv) c_args.push_back(a.data());
  c_args.push_back(nullptr);
  std::vector<std::string> environment = env;
  const pid_t pid = ::fork();
  if (pid == 0) {
    for (auto& e : environment) ::putenv(e.data());
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    ::execv(c_args[0], c_args.data());
    ::_exit(127);
  }
  return pid;
}

// Starts `sweep args...` in `cwd` with stdout and stderr going to the given files.
inline pid_t start_sweep(const std::vector<std::string>& args, const std::string& cwd,
                         const std::string& out_file, const std::string& err_file,
                         const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {sweep_program()};
  argv.insert(argv.end(), args.begin(), args.end());
  return start_program(argv, cwd, out_file, err_file, env);
}

inline int wait_for_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The exit status as wait_for_exit gives it, or nullopt while the process runs.
inline std::optional<int> exit_status_if_exited(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) != pid) return std::nullopt;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

inline CommandResult run_program(const std::vector<std::string>& argv, const std::string& cwd,
                                 const std::vector<std::string>& env = {}) {
  const std::string out = cwd + "/.stdout", err = cwd + "/.stderr";
  CommandResult r;
  r.exit_code = wait_for_exit(start_program(argv, cwd, out, err, env));
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

inline CommandResult run_sweep(const std::vector<std::string>& args, const std::string& cwd,
                               const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {sweep_program()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, cwd, env);
}

// Polls `condition` every 20 ms for up to `seconds`.
template <typename Condition>
bool eventually(Condition condition, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

// A file under /proc/<pid>/, or "" when the process is gone: it may exit between the directory
// listing and the read, and reading a vanished process's file fails (ESRCH), which libstdc++'s
// stream iterators turn into an exception.
inline std::string read_proc_file(const std::string& path) {
  try {
    return read_file(path);
  } catch (const std::exception&) {
    return {};
  }
}

// Pids of running `sweep worker` processes whose command line mentions `fragment`.
inline std::vector<pid_t> worker_pids(const std::string& fragment) {
  std::vector<pid_t> pids;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = read_proc_file(entry.path().string() + "/cmdline");
    for (char& c : cmdline) {
      if (c == '\0') c = ' ';
    }
    if (cmdline.find(" worker ") != std::string::npos &&
        cmdline.find(fragment) != std::string::npos) {
      pids.push_back(static_cast<pid_t>(std::stol(name)));
    }
  }
  return pids;
}

}  // namespace vitsweep::testing
