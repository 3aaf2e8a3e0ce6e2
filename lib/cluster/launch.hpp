// A trial's config under an MPI launcher: `mpirun -np 4 sweep train ...` trains with ranks = 4.
#pragma once

#include <string_view>

#include "cluster/mpi_session.hpp"
#include "config/trial_config.hpp"

namespace vitsweep::cluster {

// Sets config.ranks to the session's size. A config that names another number (ranks_given) is
// a UsageError saying how to launch it. threads 0 (all cores) becomes this rank's share of the
// cores it may run on: the launcher's binding, or the node's cores over the ranks on the node.
void fit_to_session(TrialConfig& config, bool ranks_given, const MpiSession& session,
                    std::string_view source);

// Threads for a rank that was given 0 (all cores): all of them without a launcher; under one,
// the cores the launcher bound the rank to, or else the node's cores shared by its ranks.
int default_threads(const MpiSession& session);

}  // namespace vitsweep::cluster
