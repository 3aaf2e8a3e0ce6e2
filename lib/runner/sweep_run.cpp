#include "runner/sweep_run.hpp"

#include <algorithm>
#include <filesystem>

#include "sweep/identity.hpp"

namespace vitsweep::runner {

namespace fs = std::filesystem;

SizeCheck check_sweep_size(uint64_t grid_bound) {
  if (grid_bound > kMaxTrials) return SizeCheck::too_many;
  if (grid_bound > kConfirmAbove) return SizeCheck::confirm_first;
  return SizeCheck::fine;
}

std::string default_runs_dir(const std::string& db_path) {
  const fs::path parent = fs::path(db_path).parent_path();
  return ((parent.empty() ? fs::path(".") : parent) / "runs").string();
}

PreparedSweep prepare_sweep(store::ResultsStore& store, const sweep::SweepSpec& spec,
                            const std::string& file, const store::RunPolicy& policy,
                            const std::string& runs_dir) {
  PreparedSweep prepared;
  prepared.trials = sweep::expand(spec, kMaxTrials);
  std::vector<store::TrialToStore> to_store;
  for (const auto& t : prepared.trials) {
    to_store.push_back({t.hash, sweep::canonical_json(t.identity), to_json(t.config), t.position});
  }
  prepared.registration =
      store.register_sweep({spec.name, spec.description, file, spec.document()}, to_store);
  for (const auto& hash : store.prepare_run(prepared.registration.sweep_id, policy)) {
    fs::remove_all(fs::path(runs_dir) / hash);
  }
  prepared.counts = store.status_counts(prepared.registration.sweep_id);
  prepared.slots_wanted = std::max<int64_t>(
      prepared.counts.queued, store.most_ranks_queued(prepared.registration.sweep_id));
  return prepared;
}

std::pair<int, int> choose_jobs_and_threads(int64_t trials, int cores, int jobs, int threads) {
  cores = std::max(1, cores);
  if (jobs <= 0 && threads <= 0) {
    jobs = static_cast<int>(std::clamp<int64_t>(trials, 1, cores));
    threads = std::max(1, cores / jobs);
  } else if (jobs <= 0) {
    jobs = std::max(1, cores / threads);
  } else if (threads <= 0) {
    threads = std::max(1, cores / jobs);
  }
  return {jobs, threads};
}

}  // namespace vitsweep::runner
