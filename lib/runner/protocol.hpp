// The runner-to-trial protocol. A trial runs in a child process (`sweep worker DIR`), so a crash
// cannot take the sweep down. Across machines (lib/cluster/cluster_sweep.hpp) the worker runs as
// a child of its node's worker rank, and the same lines travel unchanged over MPI inside that
// rank's "report" messages to rank 0, with the worker's exit status and last log line
// (lib/cluster/sweep_messages.hpp); only rank 0 writes them to the database.
//
// In: the trial folder DIR holds config.json, the full trial config (every key). Threads come on
// the command line (--threads). If DIR/checkpoint.safetensors exists the trial resumes from it.
//
// Out: one JSON object per line on the worker's stdout (human logs go to stderr):
//   {"event":"start","epochs_done":K,"steps_per_epoch":S,"total_steps":T,"params":P,
//    "flops_per_image":F}
//   {"event":"progress","epoch":E,"step":N,"total_steps":T,"loss":X,"img_per_s":Y}  (<= 1 per s)
//   {"event":"step","epoch":E,"step":N,"loss":X,"lr":R}  every --log-every steps (batch loss)
//   {"event":"epoch","record":{EpochRecord}}  sent after that epoch's checkpoint is on disk; only
//                                              for finished epochs
//   {"event":"epoch","record":{EpochRecord},"replayed":true}  after "start" when resumed: every
//      epoch the checkpoint holds, in order, so an epoch whose report was lost with a dead runner
//      (it died between the checkpoint and the database write) is still recorded, once
//   {"event":"end","outcome":{TrialOutcome}}  status done | diverged | killed, with the steps
//      and finished epochs; an epoch a max_steps stop left unfinished is outcome.partial_epoch
// then exit status 0. Every line also has "t", the unix time it was sent (for the runner's own
// latency measurement). Any other exit (a non-zero status, a signal, no "end" line) is a failure
// of the trial; its error is the last line the worker wrote to stderr. SIGTERM asks the worker to
// stop at the next step boundary and report "killed" (older workers said "interrupted", which
// reads the same).
//
// A data parallel trial (`ranks` R > 1) is `mpirun -np R sweep worker DIR` (local_launcher.hpp):
// the runner sees mpirun as the worker. Rank 0 alone writes the lines, which mpirun forwards on
// its own stdout, and the checkpoint and logs; mpirun's exit status is the trial's. SIGUSR1 asks
// it to stop (mpirun passes that one on to every rank).
#pragma once

#include <limits>
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
  double sent_at = std::numeric_limits<double>::quiet_NaN();  // "t": unix time of sending
  StartEvent start;
  ProgressEvent progress;
  StepEvent step;
  EpochRecord epoch;
  bool replayed = false;  // an epoch event for an epoch of the checkpoint the trial resumed from
  TrialOutcome outcome;
};

std::string encode(const StartEvent& event);
std::string encode(const ProgressEvent& event);
std::string encode(const StepEvent& event);
std::string encode_epoch(const EpochRecord& record, bool replayed = false);
std::string encode_end(const TrialOutcome& outcome);

// One line of worker output; nullopt for lines that are not protocol messages.
std::optional<TrialEvent> decode(const std::string& line);

}  // namespace vitsweep::runner
