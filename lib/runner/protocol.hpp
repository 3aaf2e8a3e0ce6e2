// The runner-to-trial protocol. A trial runs in a child process (`sweep worker DIR`), so a crash
// cannot take the sweep down; the same protocol can later carry trials to workers on other
// machines while one coordinator owns the database.
//
// In: the trial folder DIR holds config.json, the full trial config (every key). Threads come on
// the command line (--threads). If DIR/checkpoint.safetensors exists the trial resumes from it.
//
// Out: one JSON object per line on the worker's stdout (human logs go to stderr):
//   {"event":"start","epochs_done":K,"steps_per_epoch":S,"total_steps":T,"params":P,
//    "flops_per_image":F}
//   {"event":"progress","epoch":E,"step":N,"total_steps":T,"loss":X,"img_per_s":Y}  (<= 1 per s)
//   {"event":"step","epoch":E,"step":N,"loss":X,"lr":R}  every --log-every steps (batch loss)
//   {"event":"epoch","record":{EpochRecord}}  sent after that epoch's checkpoint is on disk
//   {"event":"end","outcome":{TrialOutcome}}  status done | diverged | interrupted
// then exit status 0. Any other exit (a non-zero status, a signal, no "end" line) is a failure
// of the trial; its error is the last line the worker wrote to stderr. SIGTERM asks the worker to
// stop at the next step boundary and report "interrupted".
#pragma once

#include <optional>
#include <string>

#include "common/json.hpp"
#include "trial/records.hpp"

namespace vitsweep::runner {

// File names inside a trial folder.
constexpr const char* kConfigFile = "config.json";
constexpr const char* kCheckpointFile = "checkpoint.safetensors";
constexpr const char* kLogFile = "log.txt";
constexpr const char* kResultFile = "result.json";

struct StartEvent {
  int64_t epochs_done = 0, steps_per_epoch = 0, total_steps = 0, params = 0;
  double flops_per_image = 0;
};
struct ProgressEvent {
  int64_t epoch = 0, step = 0, total_steps = 0;
  double loss = 0, img_per_s = 0;
};

struct StepEvent {
  int64_t epoch = 0, step = 0;
  double loss = 0, lr = 0;
};

struct TrialEvent {
  enum class Kind { start, progress, step, epoch, end } kind = Kind::start;
  StartEvent start;
  ProgressEvent progress;
  StepEvent step;
  EpochRecord epoch;
  TrialOutcome outcome;
};

std::string encode(const StartEvent& event);
std::string encode(const ProgressEvent& event);
std::string encode(const StepEvent& event);
std::string encode_epoch(const EpochRecord& record);
std::string encode_end(const TrialOutcome& outcome);

// One line of worker output; nullopt for lines that are not protocol messages.
std::optional<TrialEvent> decode(const std::string& line);


}  // namespace vitsweep::runner
