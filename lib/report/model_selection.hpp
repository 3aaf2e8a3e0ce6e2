// Model selection: the value of a tuned key (alpha) whose trials have the best mean of a selection
// metric, separately for every combination of the other settings (h, patch, ...), reported with
// another metric at that value. When the trials hold out a validation split (val_fraction) the
// pick uses it (val_acc) and the test accuracy at the picked value is an honest estimate; picking
// on the test accuracy itself flatters the winner, so it is the default only when no trial has a
// validation metric, and a note says so.
//
// `sweep export --table best` (best_table): one row per cell of the other settings:
//   <cell keys>, <tuned key> (the value picked), candidates (values tried), n (seeds at it),
//   <select metric> (its mean there), then <metric>, <metric>_std, <metric>_ci_low,
//   <metric>_ci_high: the reported metric's mean over those seeds, std and 95% t-interval.
#pragma once

#include <string>
#include <vector>

#include "report/trial_settings.hpp"
#include "report/trial_slices.hpp"

namespace vitsweep::report {

// What to tune and how to judge it.
struct SelectionSpec {
  std::string tune = "alpha";       // the key set to its best value
  std::string select_on;            // empty: val_acc when stored, else test_acc
  std::string metric = "test_acc";  // reported at the value picked
};

// Checks that `metric` is a numeric metric column of the results view (not a setting); names
// `option` and the metric columns otherwise.
void check_metric_column(const TrialRows& trials, const std::string& metric, const char* option);

// `requested` when given; else val_acc when any of `rows` has one, else test_acc with a note.
std::string selection_metric(const TrialRows& trials, const RowSet& rows,
                             const std::string& requested, std::vector<std::string>& notes);

struct Selection {
  KeyValues cell;          // the cell keys' values
  Value best;              // the tuned key's value picked; NULL when it does not apply
  RowSet rows;             // the cell's trials at that value (its seeds)
  double score = NAN;      // their mean selection metric
  int64_t candidates = 0;  // values of the tuned key that had the selection metric
  // The candidates' means were over different numbers of trials (a sweep still running): the
  // fewer trials a mean has, the further chance carries it, so the pick may flatter a value.
  bool unequal_seeds = false;
};

// The note saying how many of `selections` picked `tune` among means over different numbers of
// trials; empty when none did.
std::string unequal_seeds_note(const std::vector<Selection>& selections, const std::string& tune);

// `rows` grouped by `cell_keys`; in each cell the value of `tune` with the highest mean of
// `select_on` over the trials that have it (a tie goes to the first value in key order).
std::vector<Selection> select_best(const TrialRows& trials, const TrialSettings& settings,
                                   const RowSet& rows, const std::string& tune,
                                   const std::vector<std::string>& cell_keys,
                                   const std::string& select_on);

// Groups of `rows` by the settings of `keys` (a key that does not apply reads as NULL), in key
// order (attn by its choices).
std::vector<Group> group_by_settings(const TrialSettings& settings, const RowSet& rows,
                                     const std::vector<std::string>& keys);

ValueTable best_table(const TrialRows& trials, const TrialSettings& settings,
                      const SelectionSpec& spec);

}  // namespace vitsweep::report
