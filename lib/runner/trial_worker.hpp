// The child side of the protocol (protocol.hpp): runs one trial from its folder, checkpointing
// after every epoch, and reports events on `events` (the process's stdout).
#pragma once

#include <cstdio>
#include <string>

#include "engine/replica_group.hpp"

namespace vitsweep::runner {

// threads <= 0: the config's `threads` (0 there: all cores). log_every > 0: a step event every
// that many optimizer steps. Returns the process exit status.
//
// With `replicas` (a data parallel trial under mpirun: local_launcher.hpp) every rank trains its
// share and rank 0 alone reports, writes the checkpoint and result, and logs; the config's
// `ranks` must be the number of replicas.
int run_trial_worker(const std::string& trial_dir, int threads, int64_t log_every, FILE* events,
                     engine::ReplicaGroup* replicas = nullptr);

}  // namespace vitsweep::runner
