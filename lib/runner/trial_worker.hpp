// The child side of the protocol (protocol.hpp): runs one trial from its folder, checkpointing
// after every epoch, and reports events on `events` (the process's stdout).
#pragma once

#include <cstdio>
#include <string>

namespace vitsweep::runner {

// threads <= 0: the config's `threads` (0 there: all cores). log_every > 0: a step event every
// that many optimizer steps. Returns the process exit status.
int run_trial_worker(const std::string& trial_dir, int threads, int64_t log_every, FILE* events);

}  // namespace vitsweep::runner
