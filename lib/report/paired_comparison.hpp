// `sweep compare`: the difference a setting makes, with its uncertainty.
//
// Seeds are paired: a seed fixes the initialisation and the data subset, so a trial with KEY = A
// and one with KEY = B that share the seed and every other setting differ in KEY alone. Such a
// pair gives one difference B - A of the metric; the differences of a group of pairs give their
// mean, standard error and 95% Student t interval (n - 1 degrees of freedom). A difference whose
// interval holds zero is not shown to exist.
//
// Matching: a setting that does not apply to a trial (alpha and scale_length under softmax; see
// trial_settings.hpp) matches any value, so softmax against relu pairs each relu trial, at every
// alpha, with the softmax trial of the same seed and other settings. Trials of A or B left without
// a partner are counted in a note with their settings, never dropped silently.
//
// Groups: pairs are grouped by the `by` keys, by default every other setting that varies among
// the pairs (so n is the number of seeds). A trial in several pairs of one group (one softmax trial
// against relu at two alphas, when alpha is not a group key) makes those differences dependent;
// a note says so and which key to add.
//
// Tuning (`tune`, e.g. alpha): before pairing, each side keeps, per combination of its other
// settings, only the trials at the value of the tuned key with the best mean selection metric
// (model_selection.hpp: val_acc when stored); the tuned key is then left out of the matching, so
// relu at its best alpha is compared with gelu at its own.
//
// Table: <by keys>, [a_<tune>, b_<tune>], n, a_mean, b_mean, diff, se, ci_low, ci_high, verdict
//   diff is the mean of B - A; se its standard error; verdict "relu > softmax", "relu < softmax",
//   "interval holds 0" or "n = 1: no interval". se and the interval are empty below two pairs.
// Noise: sweep, metric, cells, trials, dof, pooled_std: the per-trial standard deviation of the
//   metric pooled over every cell of trials that differ only in seed (summary_stats.hpp's
//   pooled_std), over the sweep's selected trials.
#pragma once

#include <string>
#include <vector>

#include "report/table_formats.hpp"
#include "report/trial_filter.hpp"
#include "report/trial_settings.hpp"
#include "report/value_table.hpp"
#include "store/database.hpp"

namespace vitsweep::report {

struct ComparisonSpec {
  std::string key;   // the setting compared, e.g. attn
  std::string a, b;  // its two values as text: softmax, 0.5, true
  std::string metric = "test_acc";
  std::vector<std::string> by;  // group keys; empty: every other setting that varies
  bool pool = false;            // one group of every pair (--by none)
  std::string tune;             // empty: no tuning
  std::string select_on;        // the tuned key's selection metric; empty: val_acc or test_acc
};

struct Comparison {
  std::string heading;  // "test_acc, relu - softmax: pairs of trials that differ only in attn"
  ValueTable table;     // one row per group; notes: unmatched trials, selection, dependence
  ValueTable noise;     // one row: the pooled per-trial std of the metric
};

// Compares the done trials of one sweep (`filter.sweep` must be set) selected by `filter`.
Comparison compare_paired(store::Database& db, const TrialFilter& filter,
                          const ComparisonSpec& spec);

// The same on trials already loaded (what compare_paired runs after loading).
Comparison compare_trials(const TrialRows& trials, const TrialSettings& settings,
                          const ComparisonSpec& spec);

// The comparison as `sweep compare` prints it: `table` and `markdown` give the heading, the table
// and a line with the pooled std; `csv` the table alone (the pooled std is then a note); `json`
// an object {"heading", "key", "a", "b", "metric", "comparison": [rows], "noise": [rows],
// "notes": [...]}.
std::string format_comparison(const Comparison& comparison, const ComparisonSpec& spec,
                              TableFormat format);

// "pooled per-trial std of test_acc in sweep x: 0.0041 (12 cells of seeds, 24 trials, 12 dof)".
std::string noise_line(const Comparison& comparison);

// The per-trial std of `metric` pooled over cells of `rows` that differ only in seed.
PooledStd pooled_trial_std(const TrialRows& trials, const TrialSettings& settings,
                           const RowSet& rows, const std::string& metric);

}  // namespace vitsweep::report
