// What a trial reports: per-epoch records and the final outcome, with their JSON forms (used by
// checkpoints, `sweep train --json` and the runner-to-trial protocol).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "common/json.hpp"
#include "trial/status.hpp"

namespace vitsweep {

constexpr double kNotMeasured = std::numeric_limits<double>::quiet_NaN();

struct Evaluation {
  double loss = kNotMeasured;
  double accuracy = kNotMeasured;
  int64_t images = 0;
};

struct EpochRecord {
  int64_t epoch = 0;  // 1-based
  int64_t step = 0;   // optimizer steps taken when the epoch ended
  double train_loss = kNotMeasured, train_acc = kNotMeasured;  // running means over the epoch
  Evaluation val, test;
  double lr = 0;         // learning rate of the epoch's last step
  double epoch_s = 0;    // wall seconds of the epoch, evaluation included
  double img_per_s = 0;  // training throughput of the epoch
};

// How far a run got into an epoch it has not finished (stopped by max_steps or interrupted between
// steps), with the running sums that epoch's record needs: a checkpoint keeps it so that a resume
// continues at the next step exactly as if the run had not stopped. steps 0: at an epoch boundary.
struct EpochProgress {
  int64_t epoch = 0;    // 1-based
  int64_t steps = 0;    // steps of this epoch taken
  double loss_sum = 0;  // batch loss x batch size, summed over those steps
  int64_t correct = 0, seen = 0;
  double lr = 0;       // learning rate of the last step
  double train_s = 0;  // wall seconds of its training steps so far
};

// The epoch a max_steps stop left unfinished: train means over its steps so far, val and test at
// the stop. Never one of the finished epochs.
struct PartialEpoch {
  EpochRecord record;
  int64_t steps_in_epoch = 0;
};

struct TrialOutcome {
  TrialStatus status = TrialStatus::done;  // done, diverged or killed (stopped at a step)
  std::string message;                     // "diverged at step 12: loss is nan"
  int64_t diverged_step = -1;
  int64_t steps = 0;                // optimizer steps taken (resumed runs: in all)
  int64_t epochs_done = 0;          // finished epochs
  std::vector<EpochRecord> epochs;  // the finished epochs
  std::optional<PartialEpoch> partial_epoch;
  Evaluation final_test, final_val;  // at the end: after the last epoch, at a max_steps stop
                                     // inside an epoch, or at initialisation
  double wall_s = 0, core_s = 0;     // this process's wall-clock and CPU (user + system) seconds
};

// NaN (not measured) is written as null and read back as NaN.
OrderedJson to_json(const Evaluation& evaluation);
OrderedJson to_json(const EpochRecord& record);
OrderedJson to_json(const EpochProgress& progress);
OrderedJson to_json(const PartialEpoch& partial);  // the record's fields and steps_in_epoch
OrderedJson to_json(const TrialOutcome& outcome);
Evaluation evaluation_from_json(const Json& json);
EpochRecord epoch_record_from_json(const Json& json);
EpochProgress epoch_progress_from_json(const Json& json);
PartialEpoch partial_epoch_from_json(const Json& json);
TrialOutcome trial_outcome_from_json(const Json& json);

}  // namespace vitsweep
