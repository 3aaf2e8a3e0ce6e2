#include "engine/trainer.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "common/error.hpp"
#include "data/augmentation.hpp"
#include "data/batches.hpp"
#include "data/epoch_order.hpp"
#include "engine/checkpoint.hpp"

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

Trainer::Trainer(const TrialConfig& config, const data::Dataset& dataset)
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
  schedule_.kind = config.schedule;
  schedule_.peak_lr = config.lr;
  schedule_.warmup_steps = config.warmup_steps;
  schedule_.total_steps = steps_per_epoch_ * config.epochs;
}

Trainer::~Trainer() = default;

void Trainer::resume_from(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::read(path);
  const CheckpointInfo info = read_checkpoint_info(file);
  check_resume_compatible(info.config, config_, path);
  load_weights(file, *model_);
  load_optimizer_state(path, *optimizer_, model_->layout(), info.step);
  epochs_done_ = info.epochs_done;
  history_ = info.history;
}

void Trainer::initialize_from(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::read(path);
  read_checkpoint_info(file);  // checks it is one of ours
  load_weights(file, *model_);
}

void Trainer::save_checkpoint(const std::string& path) const {
  write_checkpoint(path, config_, *model_, *optimizer_, dataset_.norm, epochs_done_, history_);
}

Evaluation Trainer::evaluate(const data::Split& split) {
  Evaluation result;
  if (split.count == 0) return result;
  const int64_t image_floats = shape_.channels * shape_.image_height * shape_.image_width;
  // The training batch size: the activation buffers and matmul primitives are already there.
  const int64_t batch = std::min(config_.batch_size, split.count);
  std::vector<float> images(static_cast<size_t>(batch * image_floats));
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  std::vector<uint32_t> indices;
  double loss_sum = 0;
  int64_t correct = 0;
  for (int64_t start = 0; start < split.count; start += batch) {
    const int64_t n = std::min(batch, split.count - start);
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
  result.images = split.count;
  result.loss = loss_sum / split.count;
  result.accuracy = static_cast<double>(correct) / split.count;
  return result;
}

TrialOutcome Trainer::run(const TrainerCallbacks& callbacks) {
  const auto wall_start = std::chrono::steady_clock::now();
  const double cpu_start = process_cpu_seconds();
  TrialOutcome outcome;
  const int64_t batch = std::min(config_.batch_size, dataset_.train.count);
  const int64_t image_floats = shape_.channels * shape_.image_height * shape_.image_width;
  std::vector<float> images(static_cast<size_t>(batch * image_floats));
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  std::vector<float> d_logits(static_cast<size_t>(batch * shape_.classes));
  const data::Augmentation augmentation = data::augmentation_for(config_, dataset_.norm);
  const uint64_t seed = static_cast<uint64_t>(config_.seed);
  const bool step_limited = config_.max_steps >= 0;
  auto finish = [&] {
    outcome.epochs = history_;
    outcome.wall_seconds = seconds_since(wall_start);
    outcome.core_seconds = process_cpu_seconds() - cpu_start;
    return outcome;
  };

  for (int64_t epoch = epochs_done_ + 1; epoch <= config_.epochs; ++epoch) {
    if (step_limited && optimizer_->steps() >= config_.max_steps) break;
    const auto epoch_start = std::chrono::steady_clock::now();
    const std::vector<uint32_t> order =
        data::epoch_order(dataset_.train.count, seed, epoch, config_.shuffle);
    EpochRecord record;
    record.epoch = epoch;
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    for (int64_t s = 0; s < steps_per_epoch_; ++s) {
      if (step_limited && optimizer_->steps() >= config_.max_steps) break;
      if (callbacks.should_stop && callbacks.should_stop()) {
        outcome.status = "interrupted";
        outcome.message = fmt::format("interrupted in epoch {} at step {}", epoch, optimizer_->steps());
        return finish();
      }
      const std::span<const uint32_t> indices(order.data() + s * batch, static_cast<size_t>(batch));
      data::gather_batch(dataset_.train, dataset_.image, indices, augmentation, seed, epoch,
                         images.data(), labels.data());
      const float* logits = model_->forward(images.data(), batch);
      const LossResult r = classification_loss(loss_kind_, logits, labels.data(), batch,
                                               shape_.classes, config_.label_smoothing,
                                               d_logits.data());
      const int64_t step = optimizer_->steps() + 1;  // 1-based number of this update
      if (!std::isfinite(r.loss)) {
        outcome.status = "diverged";
        outcome.diverged_step = step;
        outcome.message = fmt::format("diverged at step {}: loss is {}", step, r.loss);
        return finish();
      }
      model_->backward(d_logits.data());
      record.lr = learning_rate(schedule_, optimizer_->steps());
      double grad_norm;
      {
        const auto t0 = std::chrono::steady_clock::now();
        grad_norm = optimizer_->step(model_->parameters().data(), model_->gradients().data(),
                                     record.lr);
        if (model_->times().enabled) {
          model_->times().seconds[static_cast<size_t>(Phase::optimizer)] += seconds_since(t0);
        }
      }
      if (!std::isfinite(grad_norm)) {
        outcome.status = "diverged";
        outcome.diverged_step = step;
        outcome.message = fmt::format("diverged at step {}: gradient norm is {}", step, grad_norm);
        return finish();
      }
      loss_sum += r.loss * batch;
      correct += r.correct;
      seen += batch;
      if (callbacks.on_step) {
        StepProgress p;
        p.epoch = epoch;
        p.epochs = config_.epochs;
        p.step_in_epoch = s + 1;
        p.steps_per_epoch = steps_per_epoch_;
        p.step = optimizer_->steps();
        p.total_steps = step_limited ? std::min(config_.max_steps, schedule_.total_steps)
                                     : schedule_.total_steps;
        p.loss = loss_sum / seen;
        p.batch_loss = r.loss;
        p.lr = record.lr;
        p.images_per_second = seen / seconds_since(epoch_start);
        callbacks.on_step(p);
      }
    }
    const double train_seconds = seconds_since(epoch_start);
    record.step = optimizer_->steps();
    if (seen > 0) {
      record.train_loss = loss_sum / seen;
      record.train_acc = static_cast<double>(correct) / seen;
      record.images_per_second = seen / train_seconds;
    }
    record.val = evaluate(dataset_.val);
    record.test = evaluate(dataset_.test);
    record.seconds = seconds_since(epoch_start);
    history_.push_back(record);
    epochs_done_ = epoch;
    if (callbacks.on_epoch) callbacks.on_epoch(record);
  }
  if (history_.empty()) {
    // max_steps 0: the initialised model, evaluated.
    outcome.final_test = evaluate(dataset_.test);
    outcome.final_val = evaluate(dataset_.val);
  } else {
    outcome.final_test = history_.back().test;
    outcome.final_val = history_.back().val;
  }
  return finish();
}

}  // namespace vitsweep::engine
