#include "runner/trial_worker.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/interrupt.hpp"
#include "common/json.hpp"
#include "config/trial_config.hpp"
#include "data/dataset.hpp"
#include "engine/threads.hpp"
#include "engine/trainer.hpp"
#include "runner/protocol.hpp"

namespace vitsweep::runner {

namespace {

// events is null on a data parallel trial's ranks other than 0: they say nothing.
void send(FILE* events, const std::string& line) {
  if (events == nullptr) return;
  std::fprintf(events, "%s\n", line.c_str());
  std::fflush(events);
}

// simulate_s > 0: no data, no model; the trial sleeps its time away epoch by epoch (answering a
// stop within 10 ms) and reports what a real one would, with made-up numbers.
TrialOutcome simulate_trial(const TrialConfig& config, FILE* events) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  send(events, encode(StartEvent{0, 1, config.epochs, 0, 0}));
  const auto per_epoch = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(config.simulate_s / static_cast<double>(config.epochs)));
  TrialOutcome outcome;
  for (int64_t epoch = 1; epoch <= config.epochs; ++epoch) {
    const auto until = Clock::now() + per_epoch;
    while (Clock::now() < until) {
      if (interrupt_requested()) {
        outcome.status = TrialStatus::killed;
        outcome.message = fmt::format("interrupted in epoch {}", epoch);
        return outcome;
      }
      std::this_thread::sleep_for(
          std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(10)));
    }
    EpochRecord record;
    record.epoch = epoch;
    record.step = epoch;
    record.train_loss = 1.0 / static_cast<double>(epoch);
    record.train_acc = record.test.accuracy = 1.0 - 0.5 / static_cast<double>(epoch);
    record.test.loss = record.train_loss;
    record.test.images = 1;
    record.epoch_s = std::chrono::duration<double>(per_epoch).count();
    outcome.epochs.push_back(record);
    outcome.steps = outcome.epochs_done = epoch;
    send(events, encode_epoch(record));
  }
  outcome.final_test = outcome.epochs.back().test;
  outcome.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  return outcome;
}

}  // namespace

int run_trial_worker(const std::string& trial_dir, int threads, int64_t log_every, FILE* events,
                     engine::ReplicaGroup* replicas) {
  namespace fs = std::filesystem;
  const std::string config_path = (fs::path(trial_dir) / kConfigFile).string();
  const std::string checkpoint = (fs::path(trial_dir) / kCheckpointFile).string();
  TrialConfig config = parse_trial_config(read_json_file(config_path), config_path);
  if (threads > 0) config.threads = threads;
  const bool reporter = replicas == nullptr || replicas->rank() == 0;
  if (replicas != nullptr && config.ranks != replicas->size()) {
    fail("{}: ranks={} but the worker runs on {} ranks", config_path, config.ranks,
         replicas->size());
  }
  if (!reporter) events = nullptr;
  // Rank 0's log alone: the others would repeat it.
  auto log = [reporter](const std::string& line) {
    if (reporter) std::fprintf(stderr, "%s\n", line.c_str());
  };
  if (config.simulate_s > 0) {
    install_interrupt_handlers();
    send(events, encode_end(simulate_trial(config, events)));
    return 0;
  }
  engine::ThreadBudget budget(static_cast<int>(config.threads));
  install_interrupt_handlers();

  const data::Dataset dataset = data::load_dataset(config);
  engine::Trainer trainer(config, dataset, replicas);
  if (fs::exists(checkpoint)) {
    const std::optional<std::string> note = trainer.resume_from(checkpoint);
    log(fmt::format("resumed from {} after epoch {}", checkpoint, trainer.epochs_done()));
    if (note) log(*note);
  }
  StartEvent start;
  start.epochs_done = trainer.epochs_done();
  start.steps_per_epoch = trainer.steps_per_epoch();
  start.total_steps = trainer.total_steps();
  start.params = trainer.model().parameter_count();
  start.flops_per_image = trainer.shape().training_flops_per_image();
  send(events, encode(start));
  for (const EpochRecord& record : trainer.history()) send(events, encode_epoch(record, true));

  engine::TrainerCallbacks callbacks;
  auto last_progress = std::chrono::steady_clock::now();
  callbacks.on_step = [&](const engine::StepProgress& p) {
    if (log_every > 0 && p.step % log_every == 0) {
      send(events, encode(StepEvent{p.epoch, p.step, p.batch_loss, p.lr}));
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_progress < std::chrono::seconds(1)) return;
    last_progress = now;
    send(events, encode(ProgressEvent{p.epoch, p.step, p.total_steps, p.loss, p.img_per_s}));
  };
  callbacks.on_epoch = [&](const EpochRecord& record) {
    // The checkpoint is on disk before the runner hears of the epoch: an epoch the database
    // knows about can always be resumed from.
    if (reporter) trainer.save_checkpoint(checkpoint);
    log(fmt::format("epoch {}: train loss {:.4f} acc {:.4f}, test loss {:.4f} acc {:.4f} ({:.1f}s)",
                    record.epoch, record.train_loss, record.train_acc, record.test.loss,
                    record.test.accuracy, record.epoch_s));
    send(events, encode_epoch(record));
  };
  callbacks.should_stop = interrupt_requested;
  const TrialOutcome outcome = trainer.run(callbacks);
  if (!outcome.message.empty()) log(outcome.message);
  if (reporter) {
    write_file_atomically((fs::path(trial_dir) / kResultFile).string(),
                          to_json(outcome).dump(2) + "\n");
  }
  send(events, encode_end(outcome));
  return 0;
}

}  // namespace vitsweep::runner
