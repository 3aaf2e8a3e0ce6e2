#include "runner/local_launcher.hpp"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "common/error.hpp"
#include "common/machine.hpp"
#include "runner/protocol.hpp"

namespace vitsweep::runner {

namespace fs = std::filesystem;

namespace {
constexpr double kClosedStdoutPollSeconds = 0.005;
}  // namespace

std::string last_log_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

std::string prepare_trial_folder(const std::string& runs_dir, const TrialLaunch& launch) {
  const fs::path dir = fs::path(runs_dir) / launch.hash;
  fs::create_directories(dir);
  const std::string config_path = (dir / kConfigFile).string();
  std::ofstream config(config_path, std::ios::trunc);
  config << launch.config.dump(2) << "\n";
  if (!config) fail("{}: cannot write: {}", config_path, errno_text(errno));
  std::ofstream log((dir / kLogFile).string(), std::ios::app);
  log << fmt::format("--- attempt {} by {} ---\n", launch.attempt, launch.runner_id);
  return dir.string();
}

int trial_ranks(const OrderedJson& config) {
  const auto ranks = config.find("ranks");
  return ranks != config.end() && ranks->is_number_integer() ? ranks->get<int>() : 1;
}

std::vector<std::string> environment_without_launcher(bool for_nested_mpirun) {
  std::vector<std::string> kept;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const bool launcher =
        entry.starts_with("OMPI_") || entry.starts_with("PMIX_") || entry.starts_with("PMI_") ||
        (for_nested_mpirun &&
         (entry.starts_with("SLURM_") || entry.starts_with("VITSWEEP_RANKS_PER_NODE=")));
    // Running as root is the user's choice, not the launcher's state: it stays.
    if (!launcher || entry.starts_with("OMPI_ALLOW_RUN_AS_ROOT")) kept.emplace_back(entry);
  }
  return kept;
}

LocalLauncher::LocalLauncher(WorkerCommand command, int jobs)
    : command_(std::move(command)), host_(host_name()), slots_(static_cast<size_t>(jobs)) {}

std::optional<LaunchSlot> LocalLauncher::free_slot() const {
  const auto free = std::count(slots_.begin(), slots_.end(), std::string());
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].empty()) return LaunchSlot{static_cast<int>(i), host_, static_cast<int>(free)};
  }
  return std::nullopt;
}

std::vector<std::string> LocalLauncher::worker_argv(const std::string& dir, int ranks) {
  std::vector<std::string> argv;
  if (ranks > 1) {
    if (mpirun_.empty()) mpirun_ = find_on_path("mpirun");
    if (mpirun_.empty()) {
      fail(
          "a trial with ranks={} runs under mpirun, which is not on PATH (Debian: apt-get "
          "install openmpi-bin)",
          ranks);
    }
    // One rank per slot, each with the slot's threads: no binding to one core each.
    argv = {mpirun_, "-np", std::to_string(ranks), "--oversubscribe", "--bind-to", "none"};
    if (::geteuid() == 0) argv.push_back("--allow-run-as-root");
  }
  for (std::string a : {command_.program, std::string("worker"), dir, std::string("--threads"),
                        std::to_string(command_.threads), std::string("--log-every"),
                        std::to_string(command_.log_every)}) {
    argv.push_back(std::move(a));
  }
  return argv;
}

void LocalLauncher::start(const LaunchSlot& slot, const TrialLaunch& launch) {
  const int ranks = trial_ranks(launch.config);
  const size_t first = static_cast<size_t>(slot.index);
  if (!slots_.at(first).empty()) {
    fail("internal: slot {} already runs trial {}", slot.index, slots_[first]);
  }
  std::vector<size_t> taken{first};
  for (size_t i = 0; i < slots_.size() && static_cast<int>(taken.size()) < ranks; ++i) {
    if (i != first && slots_[i].empty()) taken.push_back(i);
  }
  if (static_cast<int>(taken.size()) < ranks) {
    fail("internal: trial {} has ranks={} but only {} slot(s) are free", launch.hash, ranks,
         taken.size());
  }
  const std::string dir = prepare_trial_folder(command_.runs_dir, launch);
  Running running;
  running.hash = launch.hash;
  running.log_path = (fs::path(dir) / kLogFile).string();
  running.ranks = ranks;
  running.process = std::make_unique<ChildProcess>(worker_argv(dir, ranks), running.log_path,
                                                   environment_without_launcher(ranks > 1));
  for (const size_t i : taken) slots_[i] = launch.hash;
  running_.push_back(std::move(running));
}

std::vector<LaunchReport> LocalLauncher::wait(double timeout_s) {
  // A stdout at its end would wake poll at once, again and again: such a worker is left out of
  // the poll and looked at every few milliseconds until its exit can be reaped (the kernel closes
  // a process's files a moment before its parent can wait for it; a worker may also close its
  // stdout and go on).
  std::vector<pollfd> fds;
  for (const Running& r : running_) {
    if (r.process->stdout_closed()) {
      timeout_s = std::min(timeout_s, kClosedStdoutPollSeconds);
    } else {
      fds.push_back({r.process->stdout_fd(), POLLIN, 0});
    }
  }
  ::poll(fds.data(), fds.size(), static_cast<int>(timeout_s * 1000));
  std::vector<LaunchReport> reports;
  for (auto r = running_.begin(); r != running_.end();) {
    // The exit is looked at before the last read, so no line written before it is missed.
    const std::optional<ExitStatus> exit = r->process->poll_exit();
    for (std::string& line : r->process->read_lines()) {
      reports.push_back({LaunchReport::Kind::line, r->hash, std::move(line), {}, {}});
    }
    if (!exit) {
      ++r;
      continue;
    }
    reports.push_back({LaunchReport::Kind::exited, r->hash, {}, *exit, last_log_line(r->log_path)});
    std::replace(slots_.begin(), slots_.end(), r->hash, std::string());
    r = running_.erase(r);
  }
  return reports;
}

void LocalLauncher::stop(const std::string& hash, StopMode mode) {
  for (Running& r : running_) {
    if (r.hash != hash) continue;
    if (mode == StopMode::now) {
      r.process->send_signal(SIGKILL);
    } else if (!r.asked_to_stop) {
      r.asked_to_stop = true;
      r.process->send_signal(r.ranks > 1 ? SIGUSR1 : SIGTERM);
    }
  }
}

}  // namespace vitsweep::runner
