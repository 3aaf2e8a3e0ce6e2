// The child side of the protocol (protocol.hpp): runs one trial from its folder, checkpointing
// after every epoch, and reports events on `events` (the process's stdout).
#pragma once

#include <cstdio>
#include <string>

namespace vitsweep::runner {

// threads <= 0: the config's `threads` (0 there: all cores). Returns the process exit status.
int run_trial_worker(const std::string& trial_dir, int threads, FILE* events);

}  // namespace vitsweep::runner
