#include "runner/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <string_view>

#include "common/error.hpp"

namespace vitsweep::runner {

std::string signal_name(int signal) {
  const char* abbreviation = sigabbrev_np(signal);
  return abbreviation ? fmt::format("SIG{}", abbreviation) : fmt::format("signal {}", signal);
}

std::string ExitStatus::describe() const {
  if (signaled) return fmt::format("killed by {}", signal_name(signal));
  return fmt::format("exited with status {}", code);
}

std::string current_executable() {
  char buffer[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  if (n <= 0) fail("cannot find the running program (/proc/self/exe): {}", errno_text(errno));
  return std::string(buffer, static_cast<size_t>(n));
}

std::string find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "";
  while (!rest.empty()) {
    const size_t colon = rest.find(':');
    const std::string_view dir = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    if (dir.empty()) continue;
    const std::string candidate = fmt::format("{}/{}", dir, program);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& log_path,
                           const std::optional<std::vector<std::string>>& environment) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) fail("cannot create a pipe: {}", errno_text(errno));
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    fail("{}: cannot open for writing: {}", log_path, errno_text(errno));
  }
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  if (environment) {
    for (const auto& e : *environment) env.push_back(const_cast<char*>(e.c_str()));
    env.push_back(nullptr);
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::close(log_fd);
    fail("cannot start a trial process: {}", errno_text(errno));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);  // the runner died before prctl took effect
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    if (environment) {
      ::execve(args[0], args.data(), env.data());
    } else {
      ::execv(args[0], args.data());
    }
    constexpr char kMessage[] = "cannot execute the trial worker\n";
    [[maybe_unused]] const auto n = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  ::close(log_fd);
  pid_ = pid;
  stdout_fd_ = pipe_fds[0];
  ::fcntl(stdout_fd_, F_SETFL, ::fcntl(stdout_fd_, F_GETFL) | O_NONBLOCK);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_),
      stdout_fd_(other.stdout_fd_),
      pending_(std::move(other.pending_)),
      stdout_closed_(other.stdout_closed_),
      exit_(other.exit_) {
  other.pid_ = -1;
  other.stdout_fd_ = -1;
}

ChildProcess::~ChildProcess() {
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  if (pid_ > 0 && !exit_) {
    // Never leave a running child behind.
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

std::vector<std::string> ChildProcess::read_lines() {
  char buffer[65536];
  while (true) {
    const ssize_t n = ::read(stdout_fd_, buffer, sizeof buffer);
    if (n > 0) {
      pending_.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) stdout_closed_ = true;
    break;  // EAGAIN (nothing more now) or end of file
  }
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end; (end = pending_.find('\n', start)) != std::string::npos; start = end + 1) {
    lines.push_back(pending_.substr(start, end - start));
  }
  pending_.erase(0, start);
  return lines;
}

std::optional<ExitStatus> ChildProcess::poll_exit() {
  if (exit_) return exit_;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0) return std::nullopt;
  if (r < 0) fail("waiting for trial process {}: {}", pid_, errno_text(errno));
  ExitStatus e;
  e.signaled = WIFSIGNALED(status);
  e.code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
  e.signal = e.signaled ? WTERMSIG(status) : 0;
  exit_ = e;
  return exit_;
}

ExitStatus ChildProcess::wait() {
  while (!poll_exit()) ::usleep(20000);
  return *exit_;
}

void ChildProcess::send_signal(int signal) const {
  if (pid_ > 0 && !exit_) ::kill(pid_, signal);
}

}  // namespace vitsweep::runner
