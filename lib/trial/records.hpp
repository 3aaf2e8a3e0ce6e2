// What a trial reports: per-epoch records and the final outcome, with their JSON forms (used by
// checkpoints, `sweep train --json` and the runner-to-trial protocol).
#pragma once

#include <cstdint>
#include <limits>
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
  double lr = 0;  // learning rate of the epoch's last step
  double epoch_s = 0;    // wall seconds of the epoch, evaluation included
  double img_per_s = 0;  // training throughput of the epoch
};

struct TrialOutcome {
  TrialStatus status = TrialStatus::done;  // done, diverged or killed (stopped at a step)
  std::string message;                     // "diverged at step 12: loss is nan"
  int64_t diverged_step = -1;
  std::vector<EpochRecord> epochs;
  Evaluation final_test, final_val;  // after the last epoch (or at initialisation)
  double wall_s = 0, core_s = 0;  // this process's wall-clock and CPU (user + system) seconds
};

// NaN (not measured) is written as null and read back as NaN.
OrderedJson to_json(const Evaluation& evaluation);
OrderedJson to_json(const EpochRecord& record);
OrderedJson to_json(const TrialOutcome& outcome);
Evaluation evaluation_from_json(const Json& json);
EpochRecord epoch_record_from_json(const Json& json);
TrialOutcome trial_outcome_from_json(const Json& json);

}  // namespace vitsweep
