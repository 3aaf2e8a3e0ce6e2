// `sweep status`: per sweep, trial counts by status; each running trial with its epoch, the
// estimated time to its end (remaining epochs at its mean epoch time so far, less the time since
// its last epoch) and its last heartbeat; each failed, killed or diverged trial with the first
// line of its error. Trials are named by their hash prefix and the settings that vary in the
// sweep.
#pragma once

#include <string>

#include "store/database.hpp"
#include "store/results_store.hpp"

namespace vitsweep::report {

// "12/20 done, 2 running, 5 queued, 1 failed": done first, then the others that occur.
std::string describe_counts(const store::StatusCounts& counts);

// Every sweep (or only `sweep`, a UsageError naming the known ones when missing). `now`: Unix
// seconds, for ETAs and heartbeat ages.
std::string status_text(store::Database& db, const std::string& sweep, double now);

}  // namespace vitsweep::report
