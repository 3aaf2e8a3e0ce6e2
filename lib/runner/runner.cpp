#include "runner/runner.hpp"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "common/error.hpp"
#include "common/interrupt.hpp"
#include "runner/child_process.hpp"
#include "runner/protocol.hpp"

namespace vitsweep::runner {

namespace {

namespace fs = std::filesystem;

struct Slot {
  RunningTrial trial;
  std::unique_ptr<ChildProcess> process;
  store::TrialFinish finish;  // filled from events
  bool ended = false;         // an "end" event arrived
};

// The last non-empty line of a log file: the worker's error message when it failed.
std::string last_log_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

void write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out) fail("{}: cannot write: {}", path, errno_text(errno));
}

}  // namespace

std::string host_name() {
  char buffer[256] = {};
  if (::gethostname(buffer, sizeof buffer - 1) != 0) return "localhost";
  return buffer;
}

std::pair<int, int> choose_jobs_and_threads(int64_t trials, int cores, int jobs, int threads) {
  cores = std::max(1, cores);
  if (jobs <= 0 && threads <= 0) {
    jobs = static_cast<int>(std::clamp<int64_t>(trials, 1, cores));
    threads = std::max(1, cores / jobs);
  } else if (jobs <= 0) {
    jobs = std::max(1, cores / threads);
  } else if (threads <= 0) {
    threads = std::max(1, cores / jobs);
  }
  return {jobs, threads};
}

RunSummary run_sweep_trials(store::ResultsStore& store, int64_t sweep_id, const RunOptions& options,
                            const RunnerListener& listener) {
  const double start_time = store::unix_now();
  const store::RunnerIdentity me{
      fmt::format("{}:{}:{:.0f}", host_name(), ::getpid(), start_time), host_name(), ::getpid()};
  auto note = [&](const std::string& text) {
    if (listener.on_note) listener.on_note(text);
  };
  const auto abandoned = store.requeue_abandoned(me.host, store::unix_now());
  if (!abandoned.empty()) {
    note(fmt::format("re-queued {} trial(s) whose runner is gone", abandoned.size()));
  }

  RunSummary summary;
  std::vector<Slot> slots;
  bool stop_claiming = false;
  double queue_checked = -1e9;  // when a claim last found the queue empty
  double last_heartbeat = store::unix_now();
  double last_progress = 0;
  std::vector<double> finished_durations;

  auto launch = [&](const store::ClaimedTrial& claim) {
    const fs::path dir = fs::path(options.runs_dir) / claim.hash;
    fs::create_directories(dir);
    write_text_file((dir / kConfigFile).string(), claim.config.dump(2) + "\n");
    {
      std::ofstream log((dir / kLogFile).string(), std::ios::app);
      log << fmt::format("--- attempt {} by {} ---\n", claim.attempt, me.id);
    }
    Slot slot;
    slot.trial.hash = claim.hash;
    slot.trial.attempt = claim.attempt;
    slot.trial.started = store::unix_now();
    slot.trial.epochs = claim.config.value("epochs", int64_t{0});
    slot.process = std::make_unique<ChildProcess>(
        std::vector<std::string>{options.worker_program, "worker", dir.string(), "--threads",
                                 std::to_string(options.threads), "--log-every",
                                 std::to_string(options.log_every)},
        (dir / kLogFile).string());
    slots.push_back(std::move(slot));
  };

  auto handle_line = [&](Slot& slot, const std::string& line) {
    const auto event = decode(line);
    if (!event) return;
    switch (event->kind) {
      case TrialEvent::Kind::start:
        slot.finish.params = event->start.params;
        slot.finish.flops_per_image = event->start.flops_per_image;
        slot.finish.epochs_done = event->start.epochs_done;
        slot.trial.epoch = event->start.epochs_done;
        slot.trial.total_steps = event->start.total_steps;
        break;
      case TrialEvent::Kind::progress:
        slot.trial.epoch = event->progress.epoch;
        slot.trial.step = event->progress.step;
        slot.trial.total_steps = event->progress.total_steps;
        break;
      case TrialEvent::Kind::step:
        store.record_step(slot.trial.hash, event->step.epoch, event->step.step, event->step.loss,
                          event->step.lr, store::unix_now());
        break;
      case TrialEvent::Kind::epoch:
        store.record_epoch(slot.trial.hash, event->epoch, store::unix_now());
        slot.finish.epochs_done = event->epoch.epoch;
        slot.trial.step = event->epoch.step;
        break;
      case TrialEvent::Kind::end:
        slot.ended = true;
        slot.finish.outcome = event->outcome;
        break;
    }
  };

  // Records a child that has exited; returns whether it failed.
  auto settle = [&](Slot& slot, const ExitStatus& status) {
    const std::string dir = (fs::path(options.runs_dir) / slot.trial.hash).string();
    store::TrialFinish& finish = slot.finish;
    if (slot.ended && status.success()) {
      const std::string& outcome = finish.outcome.status;
      if (outcome == "done") {
        finish.status = store::kDone;
      } else if (outcome == "diverged") {
        finish.status = store::kDiverged;
        finish.error = finish.outcome.message;
      } else {
        finish.status = store::kKilled;
        finish.error = finish.outcome.message.empty() ? "interrupted" : finish.outcome.message;
      }
    } else {
      finish.status = store::kFailed;
      const std::string last = last_log_line(dir + "/" + kLogFile);
      finish.error = status.signaled || last.empty() || last.starts_with("--- attempt")
                         ? status.describe()
                         : fmt::format("{} ({})", last, status.describe());
      if (summary.interrupted && status.signaled) {
        finish.status = store::kKilled;  // stopped by us during shutdown
      }
    }
    store.finish_trial(slot.trial.hash, finish, store::unix_now());
    FinishedTrial done;
    done.hash = slot.trial.hash;
    done.finish = finish;
    done.attempt = slot.trial.attempt;
    done.seconds = store::unix_now() - slot.trial.started;
    if (finish.status == store::kFailed) {
      done.will_retry = !summary.interrupted && !options.fail_fast &&
                        store.requeue_if_attempts_left(slot.trial.hash, options.policy.max_attempts);
    }
    if (finish.status == store::kDone) finished_durations.push_back(done.seconds);
    if (listener.on_trial_finished) listener.on_trial_finished(done, store.status_counts(sweep_id));
    return finish.status == store::kFailed;
  };

  auto report_progress = [&] {
    if (!listener.on_progress) return;
    RunProgress p;
    p.counts = store.status_counts(sweep_id);
    for (const Slot& s : slots) p.running.push_back(s.trial);
    // ETA from the mean duration of trials finished in this run, or from running trials'
    // progress so far; remaining work is spread over the jobs.
    double mean = 0;
    if (!finished_durations.empty()) {
      for (double d : finished_durations) mean += d;
      mean /= static_cast<double>(finished_durations.size());
    } else {
      double projected = 0;
      int known = 0;
      for (const Slot& s : slots) {
        if (s.trial.total_steps > 0 && s.trial.step > 0) {
          projected += (store::unix_now() - s.trial.started) * s.trial.total_steps / s.trial.step;
          ++known;
        }
      }
      if (known > 0) mean = projected / known;
    }
    if (mean > 0) {
      double remaining = static_cast<double>(p.counts.queued);
      for (const Slot& s : slots) {
        remaining += s.trial.total_steps > 0 ? 1.0 - static_cast<double>(s.trial.step) / s.trial.total_steps : 1.0;
      }
      p.eta_seconds = remaining * mean / std::max(1, options.jobs);
    }
    listener.on_progress(p);
  };

  while (true) {
    if (interrupt_requested() && !summary.interrupted) {
      summary.interrupted = true;
      stop_claiming = true;
      note(fmt::format("stopping: asking {} running trial(s) to finish their step", slots.size()));
      for (Slot& s : slots) s.process->send_signal(SIGTERM);
      last_progress = store::unix_now();  // reuse as the grace-period start
    }
    // An empty queue is looked at again every few seconds (another runner may re-queue trials),
    // not at every turn of this loop: each look is a write transaction.
    const bool recheck = store::unix_now() - queue_checked > 5.0;
    while (!stop_claiming && recheck && static_cast<int>(slots.size()) < options.jobs) {
      const auto claim =
          store.claim_next_trial(sweep_id, me, store::unix_now(), options.lease_seconds);
      if (!claim) {
        queue_checked = store::unix_now();
        if (slots.empty()) stop_claiming = true;
        break;
      }
      launch(*claim);
    }
    if (slots.empty()) {
      // Nothing running here: done unless trials are still queued (another runner may have
      // re-queued some meanwhile).
      if (summary.interrupted || stop_claiming || store.queued_count(sweep_id) == 0) break;
      continue;
    }
    std::vector<pollfd> fds;
    for (const Slot& s : slots) fds.push_back({s.process->stdout_fd(), POLLIN, 0});
    ::poll(fds.data(), fds.size(), 200);
    for (Slot& s : slots) {
      for (const auto& line : s.process->read_lines()) handle_line(s, line);
    }
    for (size_t i = 0; i < slots.size();) {
      const auto status = slots[i].process->poll_exit();
      if (!status) {
        ++i;
        continue;
      }
      for (const auto& line : slots[i].process->read_lines()) handle_line(slots[i], line);
      const bool failed = settle(slots[i], *status);
      slots.erase(slots.begin() + static_cast<std::ptrdiff_t>(i));
      if (failed && options.fail_fast && !summary.stopped_on_failure) {
        summary.stopped_on_failure = true;
        stop_claiming = true;
        note("--fail-fast: a trial failed; stopping the others");
        for (Slot& s : slots) s.process->send_signal(SIGTERM);
      }
      // A freed slot (or a retried trial back in the queue) is worth a new claim.
      queue_checked = -1e9;
      if (!summary.interrupted && !summary.stopped_on_failure) stop_claiming = false;
    }
    const double now = store::unix_now();
    if (summary.interrupted && now - last_progress > options.stop_grace_seconds) {
      for (Slot& s : slots) s.process->send_signal(SIGKILL);
    }
    if (now - last_heartbeat >= options.heartbeat_seconds) {
      store.heartbeat(me, now, options.lease_seconds);
      last_heartbeat = now;
    }
    if (!summary.interrupted && now - last_progress >= 1.0) {
      report_progress();
      last_progress = now;
    }
  }
  summary.counts = store.status_counts(sweep_id);
  return summary;
}

}  // namespace vitsweep::runner
