// The results database's schema, versioned with PRAGMA user_version.
//
// Tables
//   sweeps        one row per sweep name: its spec (JSON) as last run
//   trials        one row per distinct trial (identity hash): config, status, attempts, runner,
//                 heartbeat and lease, times, error, final metrics, compute
//   sweep_trials  which trials a sweep holds, in expansion order (a trial can be in many sweeps)
//   metrics       the long table: (trial, name, step) -> value, with epoch and wall time
// Views
//   results       one row per trial of a sweep: sweep, trial, status, one typed column per config
//                 key (NULL where the key cannot matter, e.g. alpha under softmax), final metrics
//   epochs        one row per trial and epoch: the per-epoch metrics side by side
#pragma once

#include <string>
#include <vector>

#include "store/database.hpp"

namespace vitsweep::store {

constexpr int kSchemaVersion = 1;

// Creates the schema in an empty database, migrates an older one, refuses a newer one (or a
// database that is not ours). Read-only connections are only checked.
void ensure_schema(Database& db);

// The names of the final-metric columns of `trials` (and `results`), in order.
const std::vector<std::string>& final_metric_columns();

}  // namespace vitsweep::store
