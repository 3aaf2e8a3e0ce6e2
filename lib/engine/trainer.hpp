// One trial: data, model and optimizer, trained epoch by epoch with evaluation after each epoch.
// Deterministic: the same config (seed included) and thread count give the same bits. A
// non-finite loss or gradient ends the trial as "diverged at step N", never a crash.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/trial_config.hpp"
#include "data/dataset.hpp"
#include "engine/checkpoint.hpp"
#include "engine/data_parallel.hpp"
#include "engine/loss.hpp"
#include "engine/matmul.hpp"
#include "engine/optimizer.hpp"
#include "engine/replica_group.hpp"
#include "engine/schedule.hpp"
#include "engine/vit.hpp"
#include "trial/records.hpp"

namespace vitsweep::engine {

struct StepProgress {
  int64_t epoch = 0, epochs = 0;
  int64_t step_in_epoch = 0, steps_per_epoch = 0;
  int64_t step = 0, total_steps = 0;
  double loss = 0;        // running mean over the epoch so far
  double batch_loss = 0;  // this step's batch
  double lr = 0;          // this step's learning rate
  double img_per_s = 0;   // this epoch so far
};

struct TrainerCallbacks {
  std::function<void(const StepProgress&)> on_step;  // after every optimizer step
  std::function<void(const EpochRecord&)> on_epoch;  // after every epoch's evaluation
  std::function<bool()> should_stop;                 // polled between steps
};

class Trainer {
 public:
  // The data set must outlive the trainer. With `replicas` of more than one rank, training is
  // data parallel (data_parallel.hpp): this process is one of them, every rank builds its own
  // Trainer on the same config and data, and every call below is made on every rank alike.
  // Evaluation is split across the ranks; the results are the same on all of them.
  Trainer(const TrialConfig& config, const data::Dataset& dataset,
          ReplicaGroup* replicas = nullptr);
  ~Trainer();

  const TrialConfig& config() const { return config_; }
  VisionTransformer& model() { return *model_; }
  Optimizer& optimizer() { return *optimizer_; }
  MatmulRunner& matmul() { return matmul_; }
  const ModelShape& shape() const { return shape_; }
  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  // Images per forward and backward pass (micro_batches.hpp).
  int64_t micro_batch() const { return micro_batch_; }
  int64_t total_steps() const { return schedule_.total_steps; }
  int64_t epochs_done() const { return epochs_done_; }
  const std::vector<EpochRecord>& history() const { return history_; }
  // The epoch the run stopped in, when it stopped inside one.
  const EpochProgress& epoch_progress() const { return progress_; }
  // nullptr in a single process.
  DataParallel* data_parallel() { return parallel_.get(); }

  // Continue from a checkpoint written by save_checkpoint (weights, optimizer, epoch, history),
  // at the step it was written: inside an epoch, that epoch goes on where it stopped. Returns
  // what the run should be told, if anything: that another build wrote the checkpoint.
  std::optional<std::string> resume_from(const std::string& path);
  // Start from a file's weights only (fine-tuning); optimizer and counters start fresh. The file
  // is a checkpoint written by save_checkpoint or a PyTorch state dict under timm's names; the
  // model is always the one the config describes, the normalisation always the data set's.
  WeightsSource initialize_from(const std::string& path);
  // Weights + optimizer state + progress, for resume_from. Atomic.
  void save_checkpoint(const std::string& path) const;

  // Trains the remaining epochs (all of them unless resumed), up to max_steps.
  TrialOutcome run(const TrainerCallbacks& callbacks = {});

  // Loss and accuracy on a split, in evaluation batches.
  Evaluation evaluate(const data::Split& split);

 private:
  struct TrainingBatch;  // buffers for one batch of training images, defined in trainer.cpp
  // One optimizer step on batch `s` of the epoch's order, added to progress_. Data parallel: on
  // this rank's slice, with the ranks' sums (and `asked_to_stop`) exchanged during backward.
  // False when the loss or the gradient is not finite (`outcome` says so).
  bool train_step(const std::vector<uint32_t>& order, int64_t s, TrainingBatch& batch,
                  bool asked_to_stop, TrialOutcome& outcome);
  // Evaluates the epoch in progress_ and makes it the last finished one.
  EpochRecord finish_epoch();
  // Train means of progress_ and evaluation now.
  EpochRecord record_of_progress();
  // The final evaluation at the end of the last finished epoch (at initialisation if none).
  void set_final_evaluation(TrialOutcome& outcome);
  // max_steps was reached before the configured epochs: what the outcome says about it.
  void stop_at_max_steps(TrialOutcome& outcome);
  StepProgress step_progress() const;

  TrialConfig config_;
  const data::Dataset& dataset_;
  ModelShape shape_;
  MatmulRunner matmul_;
  std::unique_ptr<VisionTransformer> model_;
  std::unique_ptr<Optimizer> optimizer_;
  std::unique_ptr<DataParallel> parallel_;
  Schedule schedule_;
  LossKind loss_kind_;
  int64_t steps_per_epoch_ = 0;
  // Images per forward and backward pass in one process (micro_batches.hpp); evaluation runs in
  // batches of this size too. Data parallel ranks pass their whole share at once.
  int64_t micro_batch_ = 0;
  int64_t epochs_done_ = 0;
  std::vector<EpochRecord> history_;
  EpochProgress progress_;
  double last_batch_loss_ = 0;
};

}  // namespace vitsweep::engine
