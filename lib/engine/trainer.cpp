#include "engine/trainer.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "common/error.hpp"
#include "data/augmentation.hpp"
#include "data/batches.hpp"
#include "data/epoch_order.hpp"
#include "engine/build_info.hpp"
#include "engine/checkpoint.hpp"
#include "engine/micro_batches.hpp"
#include "engine/threads.hpp"

namespace vitsweep::engine {

namespace {

double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Trainer::Trainer(const TrialConfig& config, const data::Dataset& dataset, ReplicaGroup* replicas)
    : config_(config),
      dataset_(dataset),
      shape_(ModelShape::from_config(config)),
      matmul_(precision_from_name(config.precision)),
      loss_kind_(loss_from_name(config.loss)) {
  if (dataset.train.count == 0) fail("{}: the training split is empty", dataset.name);
  model_ = std::make_unique<VisionTransformer>(shape_, matmul_);
  model_->initialize(static_cast<uint64_t>(config.seed));
  optimizer_ =
      std::make_unique<Optimizer>(model_->layout(), OptimizerSettings::from_config(config));
  // Whole batches only (the last partial batch of an epoch is dropped), so every step has the
  // same shape; a training set smaller than one batch makes one smaller batch.
  const int64_t batch = std::min(config.batch_size, dataset.train.count);
  steps_per_epoch_ = dataset.train.count / batch;
  micro_batch_ = micro_batch_images(shape_, batch, thread_count(static_cast<int>(config.threads)));
  if (replicas != nullptr && replicas->size() > 1) {
    parallel_ = std::make_unique<DataParallel>(*replicas, *model_);
    parallel_->local_batch(batch);  // an uneven split fails here, before any work
    parallel_->check_replicas_equal(*optimizer_, "initial weights");
  }
  schedule_.kind = config.schedule;
  schedule_.peak_lr = config.lr;
  schedule_.warmup_steps = config.warmup_steps;
  schedule_.total_steps = steps_per_epoch_ * config.epochs;
}

Trainer::~Trainer() = default;

std::optional<std::string> Trainer::resume_from(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::read(path);
  const CheckpointInfo info = read_checkpoint_info(file);
  check_resume_compatible(info.config, config_, path);
  const EpochProgress& progress = info.epoch_progress;
  if (progress.steps > 0 &&
      (progress.epoch != info.epochs_done + 1 || progress.steps >= steps_per_epoch_)) {
    fail(
        "{}: __metadata__.epoch_progress: step {} of epoch {} does not continue {} finished "
        "epochs of {} steps (was it trained on other data?)",
        path, progress.steps, progress.epoch, info.epochs_done, steps_per_epoch_);
  }
  const int64_t epochs_begun = info.epochs_done + (progress.steps > 0 ? 1 : 0);
  if (epochs_begun > config_.epochs) {
    fail("{}: cannot resume with epochs={}: the checkpoint has begun epoch {}", path,
         config_.epochs, epochs_begun);
  }
  load_weights(file, *model_);
  load_optimizer_state(path, *optimizer_, model_->layout(), info.step);
  epochs_done_ = info.epochs_done;
  history_ = info.history;
  progress_ = progress;
  if (parallel_) parallel_->check_replicas_equal(*optimizer_, "weights read from " + path);
  return different_build_note(path, info.commit, build_info().git_commit);
}

WeightsSource Trainer::initialize_from(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::read(path);
  const WeightsSource source = weights_source(file);
  if (source == WeightsSource::vitsweep_checkpoint) read_checkpoint_info(file);  // checks it
  load_weights(file, *model_);
  if (parallel_) parallel_->check_replicas_equal(*optimizer_, "weights read from " + path);
  return source;
}

void Trainer::save_checkpoint(const std::string& path) const {
  write_checkpoint(path, config_, *model_, *optimizer_, dataset_.norm, epochs_done_, history_,
                   progress_);
}

Evaluation Trainer::evaluate(const data::Split& split) {
  Evaluation result;
  if (split.count == 0) return result;
  const int64_t image_floats = shape_.channels * shape_.image_height * shape_.image_width;
  // The training pass's size (a micro-batch, or a rank's share of the batch with data
  // parallelism): the activation buffers and matmul primitives are already there.
  const int64_t train_batch = std::min(config_.batch_size, dataset_.train.count);
  const int64_t batch =
      std::min(parallel_ ? parallel_->local_batch(train_batch) : micro_batch_, split.count);
  // Data parallel: each rank evaluates its shard of the split, and the sums are added up.
  const auto [first, last] =
      parallel_ ? parallel_->shard(split.count) : std::pair<int64_t, int64_t>{0, split.count};
  std::vector<float> images(static_cast<size_t>(batch * image_floats));
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  std::vector<uint32_t> indices;
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t start = first; start < last; start += batch) {
    const int64_t n = std::min(batch, last - start);
    indices.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) indices[i] = static_cast<uint32_t>(start + i);
    data::gather_batch(split, dataset_.image, indices, data::Augmentation{}, 0, 0, images.data(),
                       labels.data());
    const float* logits = model_->forward(images.data(), n);
    const LossResult r = classification_loss(loss_kind_, logits, labels.data(), n, shape_.classes,
                                             config_.label_smoothing, nullptr);
    loss_sum += r.loss * n;
    correct += r.correct;
  }
  if (parallel_) parallel_->sum_evaluation(loss_sum, correct);
  result.images = split.count;
  result.loss = loss_sum / split.count;
  result.accuracy = static_cast<double>(correct) / split.count;
  return result;
}

// This rank's part of one global training batch: all of it in a single process.
struct Trainer::TrainingBatch {
  int64_t global = 0;       // images per optimizer step, over all ranks
  int64_t slice_start = 0;  // where this rank's slice begins in the batch
  data::Augmentation augmentation;
  std::vector<float> images, d_logits;
  std::vector<int32_t> labels;
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

TrialOutcome Trainer::run(const TrainerCallbacks& callbacks) {
  const auto wall_start = std::chrono::steady_clock::now();
  const double cpu_start = process_cpu_seconds();
  TrialOutcome outcome;
  TrainingBatch batch;
  batch.global = std::min(config_.batch_size, dataset_.train.count);
  const int64_t local = parallel_ ? parallel_->local_batch(batch.global) : batch.global;
  batch.slice_start = parallel_ ? parallel_->slice_start(batch.global) : 0;
  batch.augmentation = data::augmentation_for(config_, dataset_.norm);
  batch.images.resize(
      static_cast<size_t>(local * shape_.channels * shape_.image_height * shape_.image_width));
  batch.labels.resize(static_cast<size_t>(local));
  batch.d_logits.resize(static_cast<size_t>(local * shape_.classes));
  auto finish = [&] {
    outcome.steps = optimizer_->steps();
    outcome.epochs_done = epochs_done_;
    outcome.epochs = history_;
    outcome.wall_s = seconds_since(wall_start);
    outcome.core_s = process_cpu_seconds() - cpu_start;
    if (parallel_) outcome.core_s = parallel_->sum(outcome.core_s);  // every rank's
    return outcome;
  };

  for (int64_t epoch = epochs_done_ + 1; epoch <= config_.epochs; ++epoch) {
    if (progress_.steps == 0) progress_ = EpochProgress{.epoch = epoch};
    const std::vector<uint32_t> order = data::epoch_order(
        dataset_.train.count, static_cast<uint64_t>(config_.seed), epoch, config_.shuffle);
    for (int64_t s = progress_.steps; s < steps_per_epoch_; ++s) {
      if (config_.max_steps >= 0 && optimizer_->steps() >= config_.max_steps) {
        stop_at_max_steps(outcome);
        return finish();
      }
      const bool asked_to_stop = callbacks.should_stop && callbacks.should_stop();
      // Data parallel ranks stop together, at the step after any of them was asked to.
      if (parallel_ ? parallel_->stop_requested() : asked_to_stop) {
        outcome.status = TrialStatus::killed;
        outcome.message =
            fmt::format("interrupted in epoch {} at step {}", epoch, optimizer_->steps());
        return finish();
      }
      if (!train_step(order, s, batch, asked_to_stop, outcome)) return finish();
      if (callbacks.on_step) callbacks.on_step(step_progress());
    }
    const EpochRecord record = finish_epoch();
    if (callbacks.on_epoch) callbacks.on_epoch(record);
  }
  set_final_evaluation(outcome);
  return finish();
}

bool Trainer::train_step(const std::vector<uint32_t>& order, int64_t s, TrainingBatch& batch,
                         bool asked_to_stop, TrialOutcome& outcome) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = batch.size();
  const std::span<const uint32_t> indices(order.data() + s * batch.global + batch.slice_start,
                                          static_cast<size_t>(n));
  data::gather_batch(dataset_.train, dataset_.image, indices, batch.augmentation,
                     static_cast<uint64_t>(config_.seed), progress_.epoch, batch.images.data(),
                     batch.labels.data());
  LossResult r;
  if (parallel_) {
    r = parallel_->train_on_slice(loss_kind_, config_.label_smoothing, batch.images.data(),
                                  batch.labels.data(), n, batch.d_logits.data(), batch.global,
                                  asked_to_stop);
  } else {
    r = train_on_batch(*model_, loss_kind_, config_.label_smoothing, batch.images.data(),
                       batch.labels.data(), n, micro_batch_, batch.d_logits.data());
  }
  const int64_t step = optimizer_->steps() + 1;  // 1-based number of this update
  if (!std::isfinite(r.loss)) {
    outcome.status = TrialStatus::diverged;
    outcome.diverged_step = step;
    outcome.message = fmt::format("diverged at step {}: loss is {}", step, r.loss);
    return false;
  }
  const double lr = learning_rate(schedule_, optimizer_->steps());
  const auto optimizer_start = std::chrono::steady_clock::now();
  const double grad_norm =
      optimizer_->step(model_->parameters().data(), model_->gradients().data(), lr);
  if (model_->times().enabled) {
    model_->times().seconds[static_cast<size_t>(Phase::optimizer)] +=
        seconds_since(optimizer_start);
  }
  if (!std::isfinite(grad_norm)) {
    outcome.status = TrialStatus::diverged;
    outcome.diverged_step = step;
    outcome.message = fmt::format("diverged at step {}: gradient norm is {}", step, grad_norm);
    return false;
  }
  progress_.steps = s + 1;
  progress_.loss_sum += r.loss * batch.global;
  progress_.correct += r.correct;
  progress_.seen += batch.global;
  progress_.lr = lr;
  progress_.train_s += seconds_since(start);
  last_batch_loss_ = r.loss;
  return true;
}

StepProgress Trainer::step_progress() const {
  StepProgress p;
  p.epoch = progress_.epoch;
  p.epochs = config_.epochs;
  p.step_in_epoch = progress_.steps;
  p.steps_per_epoch = steps_per_epoch_;
  p.step = optimizer_->steps();
  p.total_steps = config_.max_steps >= 0 ? std::min(config_.max_steps, schedule_.total_steps)
                                         : schedule_.total_steps;
  p.loss = progress_.loss_sum / static_cast<double>(progress_.seen);
  p.batch_loss = last_batch_loss_;
  p.lr = progress_.lr;
  p.img_per_s = static_cast<double>(progress_.seen) / progress_.train_s;
  return p;
}

EpochRecord Trainer::record_of_progress() {
  const auto start = std::chrono::steady_clock::now();
  EpochRecord record;
  record.epoch = progress_.epoch;
  record.step = optimizer_->steps();
  record.lr = progress_.lr;
  if (progress_.seen > 0) {
    record.train_loss = progress_.loss_sum / static_cast<double>(progress_.seen);
    record.train_acc = static_cast<double>(progress_.correct) / static_cast<double>(progress_.seen);
    record.img_per_s = static_cast<double>(progress_.seen) / progress_.train_s;
  }
  record.val = evaluate(dataset_.val);
  record.test = evaluate(dataset_.test);
  record.epoch_s = progress_.train_s + seconds_since(start);
  return record;
}

EpochRecord Trainer::finish_epoch() {
  if (parallel_) {
    parallel_->check_replicas_equal(*optimizer_,
                                    fmt::format("weights after epoch {}", progress_.epoch));
  }
  const EpochRecord record = record_of_progress();
  history_.push_back(record);
  epochs_done_ = progress_.epoch;
  progress_ = EpochProgress{};
  return record;
}

void Trainer::set_final_evaluation(TrialOutcome& outcome) {
  if (history_.empty()) {  // max_steps 0: the initialised model
    outcome.final_test = evaluate(dataset_.test);
    outcome.final_val = evaluate(dataset_.val);
  } else {
    outcome.final_test = history_.back().test;
    outcome.final_val = history_.back().val;
  }
}

void Trainer::stop_at_max_steps(TrialOutcome& outcome) {
  const int64_t step = optimizer_->steps();
  if (progress_.steps == 0) {
    outcome.message = fmt::format("stopped by max_steps={} at step {}, after {} of {} epochs",
                                  config_.max_steps, step, epochs_done_, config_.epochs);
    set_final_evaluation(outcome);
    return;
  }
  PartialEpoch partial{record_of_progress(), progress_.steps};
  outcome.message = fmt::format(
      "stopped by max_steps={} at step {}: {} of {} epochs finished, then {} of the {} steps of "
      "epoch {}",
      config_.max_steps, step, epochs_done_, config_.epochs, progress_.steps, steps_per_epoch_,
      progress_.epoch);
  outcome.final_test = partial.record.test;
  outcome.final_val = partial.record.val;
  outcome.partial_epoch = partial;
}

}  // namespace vitsweep::engine
