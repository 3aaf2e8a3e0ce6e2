// A child process the runner owns: stdout through a pipe (the protocol), stderr appended to a log
// file, its own process group (a terminal's Ctrl-C reaches only the runner, which then stops the
// children in order), and PR_SET_PDEATHSIG so it dies with the runner: after a `kill -9` of the
// runner no orphan keeps writing to a trial folder the next runner will use.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace vitsweep::runner {

struct ExitStatus {
  bool signaled = false;
  int code = 0;    // exit code when !signaled
  int signal = 0;  // when signaled
  bool success() const { return !signaled && code == 0; }
  std::string describe() const;  // "exited with status 3", "killed by SIGSEGV"
};

class ChildProcess {
 public:
  // argv[0] is the program's path; environment: "NAME=value" entries, the child's whole
  // environment (nullopt: this process's).
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path,
               const std::optional<std::vector<std::string>>& environment = std::nullopt);
  ~ChildProcess();
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  int stdout_fd() const { return stdout_fd_; }

  // Complete lines read so far without blocking (a trailing partial line waits for the rest).
  std::vector<std::string> read_lines();
  // Whether a read met the end of its stdout: every writer closed it. The process may still run
  // (for a moment while it exits, or for as long as it likes after closing its stdout).
  bool stdout_closed() const { return stdout_closed_; }
  // nullopt while it runs; the exit status once it has ended (reaped).
  std::optional<ExitStatus> poll_exit();
  // Blocks until it ends.
  ExitStatus wait();
  void send_signal(int signal) const;

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string pending_;
  bool stdout_closed_ = false;
  std::optional<ExitStatus> exit_;
};

// "SIGSEGV" for SIGSEGV.
std::string signal_name(int signal);

// The path of the running executable (/proc/self/exe).
std::string current_executable();

// The full path of a program found on PATH; empty when it is not there.
std::string find_on_path(const std::string& program);

}  // namespace vitsweep::runner
