#include "runner/local_launcher.hpp"

#include <poll.h>
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "common/error.hpp"
#include "common/machine.hpp"
#include "runner/protocol.hpp"

namespace vitsweep::runner {

namespace fs = std::filesystem;

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

LocalLauncher::LocalLauncher(WorkerCommand command, int jobs)
    : command_(std::move(command)), host_(host_name()), slots_(static_cast<size_t>(jobs)) {}

std::optional<LaunchSlot> LocalLauncher::free_slot() const {
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i]) return LaunchSlot{static_cast<int>(i), host_};
  }
  return std::nullopt;
}

void LocalLauncher::start(const LaunchSlot& slot, const TrialLaunch& launch) {
  std::optional<Running>& place = slots_.at(static_cast<size_t>(slot.index));
  if (place) fail("internal: slot {} already runs trial {}", slot.index, place->hash);
  const std::string dir = prepare_trial_folder(command_.runs_dir, launch);
  Running running;
  running.hash = launch.hash;
  running.log_path = (fs::path(dir) / kLogFile).string();
  running.process = std::make_unique<ChildProcess>(
      std::vector<std::string>{command_.program, "worker", dir, "--threads",
                               std::to_string(command_.threads), "--log-every",
                               std::to_string(command_.log_every)},
      running.log_path);
  place = std::move(running);
}

std::vector<LaunchReport> LocalLauncher::wait(double timeout_s) {
  std::vector<pollfd> fds;
  for (const auto& slot : slots_) {
    if (slot) fds.push_back({slot->process->stdout_fd(), POLLIN, 0});
  }
  ::poll(fds.data(), fds.size(), static_cast<int>(timeout_s * 1000));
  std::vector<LaunchReport> reports;
  for (auto& slot : slots_) {
    if (!slot) continue;
    // The exit is looked at before the last read, so no line written before it is missed.
    const std::optional<ExitStatus> exit = slot->process->poll_exit();
    for (std::string& line : slot->process->read_lines()) {
      reports.push_back({LaunchReport::Kind::line, slot->hash, std::move(line), {}, {}});
    }
    if (!exit) continue;
    reports.push_back(
        {LaunchReport::Kind::exited, slot->hash, {}, *exit, last_log_line(slot->log_path)});
    slot.reset();
  }
  return reports;
}

void LocalLauncher::stop(const std::string& hash, StopMode mode) {
  for (const auto& slot : slots_) {
    if (slot && slot->hash == hash) {
      slot->process->send_signal(mode == StopMode::now ? SIGKILL : SIGTERM);
    }
  }
}

}  // namespace vitsweep::runner
