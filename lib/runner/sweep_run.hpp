// What `sweep run` does before its scheduler starts: the limits on a sweep's size, storing the
// sweep and making its trials runnable, where trial folders live, and how many trials run at once
// with how many threads each.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "store/results_store.hpp"
#include "sweep/expansion.hpp"
#include "sweep/sweep_file.hpp"

namespace vitsweep::runner {

// Above kConfirmAbove trials a sweep runs only when the user confirms; above kMaxTrials never
// (narrow the grid). Grids are counted without being expanded (sweep::grid_size).
constexpr uint64_t kConfirmAbove = 200;
constexpr uint64_t kMaxTrials = 1'000'000;
enum class SizeCheck { fine, confirm_first, too_many };
SizeCheck check_sweep_size(uint64_t grid_bound);

// Trial folders go in runs/ beside the database.
std::string default_runs_dir(const std::string& db_path);

struct PreparedSweep {
  std::vector<sweep::PlannedTrial> trials;
  store::Registration registration;
  store::StatusCounts counts;  // after preparation: `queued` are the ones to run
  // For the default split of the cores: the queued trials, or the most ranks one of them has if
  // more (a data parallel trial needs that many slots on one machine).
  int64_t slots_wanted = 0;
};

// Expands the sweep, stores it and its trials, and makes them runnable under the policy; the
// folders of trials whose results --force discarded are deleted, so they start from scratch.
PreparedSweep prepare_sweep(store::ResultsStore& store, const sweep::SweepSpec& spec,
                            const std::string& file, const store::RunPolicy& policy,
                            const std::string& runs_dir);

// Default split of `cores` for `trials` runnable trials: as many 1-thread trials side by side as
// there are trials and cores (trials in parallel waste nothing on synchronisation), and when there
// are fewer trials than cores, the spare cores become threads. Explicit jobs/threads (> 0) win.
std::pair<int, int> choose_jobs_and_threads(int64_t trials, int cores, int jobs, int threads);

}  // namespace vitsweep::runner
