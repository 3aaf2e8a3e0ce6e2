// From a sweep spec to its trials, one at a time.
//
// Expansion order: nested loops over the axes, the first axis outermost and the last varying
// fastest, with the seeds innermost of all; then each include entry, in file order, times the
// seeds. A grid of attn [relu, gelu] x alpha [0, 1] with seeds [0, 1] gives
//   relu 0 s0, relu 0 s1, relu 1 s0, relu 1 s1, gelu 0 s0, gelu 0 s1, gelu 1 s0, gelu 1 s1.
// With no axes the grid is the single base trial.
//
// A trial's settings are applied in this order, later winning:
//   grid trial:    base, its axis values, its seed, the overrides (--set)
//   include trial: base, the include entry, its seed, the overrides (--set)
// then parsed and checked like any config. Exclusion drops grid trials that match every key of an
// exclude entry, comparing the parsed config's typed field values (2 == 2.0 for a real key); as in
// GitHub Actions' matrix, include entries are explicit and are never excluded. De-duplication
// drops a trial whose identity hash (identity.hpp) was already seen: the first occurrence wins, so
// softmax crossed with five alphas runs once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/json.hpp"
#include "config/trial_config.hpp"
#include "sweep/identity.hpp"
#include "sweep/sweep_file.hpp"

namespace vitsweep::sweep {

struct PlannedTrial {
  int64_t position = 0;  // 0-based, in expansion order, after exclusion and de-duplication
  OrderedJson settings;  // the settings that built it (base + axis values + seed + overrides)
  TrialConfig config;    // parsed and validated
  OrderedJson identity;  // normalize_config(config)
  std::string hash;      // trial_hash(config)
  // What sets this trial apart, for tables and messages: its axis values (or include entry) and
  // seed, e.g. {"attn": "relu", "alpha": 0.5, "seed": 1}.
  OrderedJson varied;
  std::string origin;  // "grid" or "include[2]"
};

// Upper bound on the number of trials, computed without expanding: product of axis sizes *
// max(1, seeds) + includes * max(1, seeds). Saturates at UINT64_MAX.
uint64_t grid_size(const SweepSpec& spec);

// How grid_size comes about: "2 (attn) x 5 (alpha) x 3 seeds + 1 include x 3 seeds = 33".
std::string describe_grid_size(const SweepSpec& spec);

// Visits trials in expansion order with exclusion and de-duplication applied; stops when visit
// returns false. Never materialises the grid: memory is the set of hashes seen so far. A trial
// that fails validation throws a UsageError naming the file, the trial's position and what it
// varies: "sweeps/x.json: trial 12 (width=100, heads=3): width 100 is not divisible by heads 3".
void for_each_trial(const SweepSpec& spec, const std::function<bool(const PlannedTrial&)>& visit);

// All trials; UsageError if grid_size is more than `limit` (the message gives the count and asks
// to narrow the grid), checked before anything is built.
std::vector<PlannedTrial> expand(const SweepSpec& spec, uint64_t limit = 100000);

}  // namespace vitsweep::sweep
