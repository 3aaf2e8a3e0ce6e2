#include "runner/scheduler.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "common/interrupt.hpp"
#include "common/machine.hpp"
#include "common/text.hpp"

namespace vitsweep::runner {

void apply_event(TrialSlot& slot, const TrialEvent& event) {
  switch (event.kind) {
    case TrialEvent::Kind::start:
      slot.finish.params = event.start.params;
      slot.finish.flops_per_image = event.start.flops_per_image;
      slot.finish.epochs_done = event.start.epochs_done;
      slot.trial.epoch = event.start.epochs_done;
      slot.trial.total_steps = event.start.total_steps;
      break;
    case TrialEvent::Kind::progress:
      slot.trial.epoch = event.progress.epoch;
      slot.trial.step = event.progress.step;
      slot.trial.total_steps = event.progress.total_steps;
      break;
    case TrialEvent::Kind::step: break;
    case TrialEvent::Kind::epoch:
      slot.finish.epochs_done = event.epoch.epoch;
      slot.trial.epoch = event.epoch.epoch;
      slot.trial.step = event.epoch.step;
      break;
    case TrialEvent::Kind::end:
      slot.ended = true;
      slot.finish.outcome = event.outcome;
      break;
  }
}

void record_event(store::ResultsStore& store, const std::string& hash, const TrialEvent& event,
                  double now) {
  if (event.kind == TrialEvent::Kind::epoch) {
    store.record_epoch(
        hash, event.epoch, now,
        event.replayed ? store::EpochWrite::keep_existing : store::EpochWrite::replace);
  }
  if (event.kind == TrialEvent::Kind::step) {
    store.record_step(hash, event.step.epoch, event.step.step, event.step.loss, event.step.lr, now);
  }
}

store::TrialFinish classify_exit(const TrialSlot& slot, const ExitStatus& exit,
                                 const std::string& last_error, bool stopping) {
  store::TrialFinish finish = slot.finish;
  if (slot.ended && exit.success()) {
    // The worker ends done, diverged or killed (stopped at a step boundary).
    finish.status = finish.outcome.status;
    if (finish.status == TrialStatus::killed) {
      finish.error = finish.outcome.message.empty() ? "interrupted" : finish.outcome.message;
    } else if (finish.status == TrialStatus::diverged) {
      finish.error = finish.outcome.message;
    }
    return finish;
  }
  // A signal the scheduler sent while stopping is a stop, not a crash.
  finish.status = stopping && exit.signaled ? TrialStatus::killed : TrialStatus::failed;
  const bool no_message =
      exit.signaled || last_error.empty() || last_error.starts_with("--- attempt");
  finish.error = no_message ? exit.describe() : fmt::format("{} ({})", last_error, exit.describe());
  return finish;
}

double expected_trial_seconds(std::span<const double> finished_durations,
                              std::span<const RunningTrial> running, double now) {
  if (!finished_durations.empty()) {
    double sum = 0;
    for (double d : finished_durations) sum += d;
    return sum / static_cast<double>(finished_durations.size());
  }
  double projected = 0;
  int known = 0;
  for (const RunningTrial& t : running) {
    if (t.total_steps > 0 && t.step > 0) {
      projected += (now - t.started) * static_cast<double>(t.total_steps) / t.step;
      ++known;
    }
  }
  return known > 0 ? projected / known : 0;
}

double estimate_eta(std::span<const double> finished_durations,
                    std::span<const RunningTrial> running, int64_t queued, int capacity,
                    double now) {
  const double mean = expected_trial_seconds(finished_durations, running, now);
  if (mean <= 0) return -1;
  double remaining = static_cast<double>(queued);
  for (const RunningTrial& t : running) {
    remaining += t.total_steps > 0 ? 1.0 - static_cast<double>(t.step) / t.total_steps : 1.0;
  }
  return remaining * mean / std::max(1, capacity);
}

OrderedJson to_json(const RunnerStats& s) {
  const double seconds = std::max(s.seconds, 1e-9);
  std::vector<double> latency = s.event_latency_s;
  std::sort(latency.begin(), latency.end());
  auto percentile_ms = [&](double p) {
    if (latency.empty()) return OrderedJson(nullptr);
    const size_t i = std::min(latency.size() - 1, static_cast<size_t>(p * latency.size()));
    return OrderedJson(1e3 * latency[i]);
  };
  return {{"seconds", s.seconds},
          {"trials_started", s.trials_started},
          {"trials_finished", s.trials_finished},
          {"events", s.events},
          {"db_writes", s.db_writes},
          {"trials_per_s", s.trials_finished / seconds},
          {"events_per_s", s.events / seconds},
          {"db_writes_per_s", s.db_writes / seconds},
          {"db_write_ms_mean",
           s.db_writes > 0 ? OrderedJson(1e3 * s.db_write_s / s.db_writes) : OrderedJson(nullptr)},
          {"db_busy_share", s.db_write_s / seconds},
          {"event_latency_ms",
           {{"median", percentile_ms(0.5)},
            {"p95", percentile_ms(0.95)},
            {"p99", percentile_ms(0.99)},
            {"max", latency.empty() ? OrderedJson(nullptr) : OrderedJson(1e3 * latency.back())}}}};
}

const store::StatusCounts& CountsView::at(double now) {
  if (now - read_at_ >= refresh_seconds_) {
    counts_ = read_();
    read_at_ = now;
  }
  return counts_;
}

void CountsView::move(TrialStatus from, TrialStatus to) {
  --counts_.of(from);
  ++counts_.of(to);
}

Scheduler::Scheduler(store::ResultsStore& store, int64_t sweep_id, TrialLauncher& launcher,
                     SchedulerOptions options, RunnerListener listener)
    : store_(store),
      sweep_id_(sweep_id),
      launcher_(launcher),
      options_(std::move(options)),
      listener_(std::move(listener)),
      counts_([this] { return store_.status_counts(sweep_id_); }, 1.0) {
  const double now = store::unix_now();
  me_ = {fmt::format("{}:{}:{:.0f}", host_name(), ::getpid(), now), host_name(), ::getpid()};
  if (!options_.stop_requested) options_.stop_requested = interrupt_requested;
  last_heartbeat_ = now;
}

void Scheduler::note(const std::string& text) const {
  if (listener_.on_note) listener_.on_note(text);
}

RunSummary Scheduler::run() {
  const double started = store::unix_now();
  const store::Database::WriteStats writes_before = store_.db().write_stats();
  requeue_abandoned();
  note_trials_too_wide();
  while (true) {
    if (!stopping_ && options_.stop_requested()) {
      summary_.interrupted = true;
      stop_all(fmt::format("stopping: asking {} running trial(s) to finish their step",
                           running_.size()));
    }
    claim_into_free_slots(store::unix_now());
    if (running_.empty()) {
      // Done when stopping, or when the queue is empty (trials other runners run are theirs).
      // Trials wider than any machine here stay queued for another runner (noted at the start).
      if (stopping_ || summary_.deadline_reached ||
          store_.queued_count(sweep_id_, launcher_.widest()) == 0) {
        break;
      }
      next_claim_ = 0;  // trials came back to the queue since the last claim: look again
    }
    for (const LaunchReport& report : launcher_.wait(options_.poll_seconds)) handle(report);
    const double now = store::unix_now();
    kill_after_grace(now);
    heartbeat_if_due(now);
    report_progress_if_due(now);
  }
  summary_.counts = store_.status_counts(sweep_id_);
  summary_.widest = launcher_.widest();
  summary_.too_wide = summary_.counts.queued - store_.queued_count(sweep_id_, summary_.widest);
  summary_.stats.seconds = store::unix_now() - started;
  const store::Database::WriteStats& writes = store_.db().write_stats();
  summary_.stats.db_writes = writes.transactions - writes_before.transactions;
  summary_.stats.db_write_s = writes.seconds - writes_before.seconds;
  return summary_;
}

void Scheduler::requeue_abandoned() {
  const auto abandoned = store_.requeue_abandoned(me_.host, store::unix_now());
  if (!abandoned.empty()) {
    note(fmt::format("re-queued {} trial(s) whose runner is gone", abandoned.size()));
  }
}

void Scheduler::note_trials_too_wide() {
  const int widest = launcher_.widest();
  if (store_.most_ranks_queued(sweep_id_) > widest) {
    const int64_t too_wide =
        store_.queued_count(sweep_id_) - store_.queued_count(sweep_id_, widest);
    note(
        fmt::format("{} trial(s) set more ranks than the {} slot(s) of one machine here: they "
                    "stay queued; the others run",
                    too_wide, widest));
  }
}

void Scheduler::stop_all(const std::string& why) {
  stopping_ = true;
  stop_started_ = store::unix_now();
  note(why);
  for (const auto& [hash, slot] : running_) launcher_.stop(hash, StopMode::at_step_boundary);
}

void Scheduler::claim_into_free_slots(double now) {
  // Each look at the queue is a write transaction: an empty queue is looked at again only every
  // few seconds (another runner may re-queue trials meanwhile), not at every turn.
  if (stopping_ || summary_.deadline_reached || now < next_claim_) return;
  while (const auto slot = launcher_.free_slot()) {
    if (!deadline_allows_a_trial(now)) return;
    const auto claim = store_.claim_next_trial(sweep_id_, me_, now, options_.lease_seconds,
                                               slot->host, slot->width);
    if (!claim) {
      next_claim_ = now + options_.queue_recheck_seconds;
      return;
    }
    TrialSlot& trial = running_[claim->hash];
    trial.trial.hash = claim->hash;
    trial.trial.host = slot->host;
    trial.trial.attempt = claim->attempt;
    trial.trial.started = now;
    trial.trial.epochs = claim->config.value("epochs", int64_t{0});
    launcher_.start(*slot, {claim->hash, claim->config, claim->attempt, me_.id});
    counts_.move(TrialStatus::queued, TrialStatus::running);
    ++summary_.stats.trials_started;
  }
}

bool Scheduler::deadline_allows_a_trial(double now) {
  if (!std::isfinite(options_.deadline)) return true;
  std::vector<RunningTrial> running;
  for (const auto& [hash, slot] : running_) running.push_back(slot.trial);
  const double expected = expected_trial_seconds(finished_durations_, running, now);
  if (now + expected <= options_.deadline) return true;
  summary_.deadline_reached = true;
  note(fmt::format("no new trials: {} left before the deadline, a trial takes about {}",
                   format_duration(std::max(0.0, options_.deadline - now)),
                   format_duration(expected)));
  return false;
}

void Scheduler::handle(const LaunchReport& report) {
  const auto it = running_.find(report.hash);
  if (it == running_.end()) return;  // a trial this scheduler does not know: ignore
  if (report.kind == LaunchReport::Kind::exited) {
    settle(report.hash, report.exit, report.last_error);
    return;
  }
  const auto event = decode(report.line);
  if (!event) return;  // not a protocol line
  apply_event(it->second, *event);
  const double now = store::unix_now();
  record_event(store_, report.hash, *event, now);
  RunnerStats& stats = summary_.stats;
  ++stats.events;
  if (std::isfinite(event->sent_at)) stats.event_latency_s.push_back(now - event->sent_at);
}

void Scheduler::settle(const std::string& hash, const ExitStatus& exit,
                       const std::string& last_error) {
  const TrialSlot slot = std::move(running_.at(hash));
  running_.erase(hash);
  const double now = store::unix_now();
  FinishedTrial done;
  done.hash = hash;
  done.finish = classify_exit(slot, exit, last_error, stopping_);
  done.attempt = slot.trial.attempt;
  done.wall_s = now - slot.trial.started;
  store_.finish_trial(hash, done.finish, now);
  counts_.move(TrialStatus::running, done.finish.status);
  ++summary_.stats.trials_finished;
  const bool failed = done.finish.status == TrialStatus::failed;
  if (failed) {
    done.will_retry = !stopping_ && !options_.fail_fast &&
                      store_.requeue_if_attempts_left(hash, options_.max_attempts);
    if (done.will_retry) counts_.move(TrialStatus::failed, TrialStatus::queued);
  }
  if (done.finish.status == TrialStatus::done) finished_durations_.push_back(done.wall_s);
  if (listener_.on_trial_finished) listener_.on_trial_finished(done, counts_.at(now));
  if (failed && options_.fail_fast && !stopping_) {
    summary_.stopped_on_failure = true;
    stop_all("--fail-fast: a trial failed; stopping the others");
  }
  next_claim_ = 0;  // a freed slot, or a retry back in the queue, is worth a claim
}

void Scheduler::kill_after_grace(double now) {
  if (!stopping_ || now - stop_started_ <= options_.stop_grace_seconds) return;
  for (const auto& [hash, slot] : running_) launcher_.stop(hash, StopMode::now);
}

void Scheduler::heartbeat_if_due(double now) {
  if (now - last_heartbeat_ < options_.heartbeat_seconds) return;
  store_.heartbeat(me_, now, options_.lease_seconds);
  last_heartbeat_ = now;
}

void Scheduler::report_progress_if_due(double now) {
  if (!listener_.on_progress || stopping_ || now - last_progress_ < 1.0) return;
  last_progress_ = now;
  RunProgress progress;
  progress.counts = counts_.at(now);
  for (const auto& [hash, slot] : running_) progress.running.push_back(slot.trial);
  progress.eta_seconds = estimate_eta(finished_durations_, progress.running, progress.counts.queued,
                                      launcher_.capacity(), now);
  listener_.on_progress(progress);
}

}  // namespace vitsweep::runner
