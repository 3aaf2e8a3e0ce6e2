#include "report/model_selection.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "common/text.hpp"
#include "report/summary_stats.hpp"

namespace vitsweep::report {

namespace {

// Columns of the results view that are neither settings nor metrics.
const std::vector<std::string> kBookkeeping = {"sweep", "trial", "position", "status", "error"};

std::vector<std::string> metric_columns(const TrialRows& trials) {
  const auto keys = config_key_names();
  std::vector<std::string> metrics;
  for (const auto& c : trials.table().columns) {
    if (std::find(keys.begin(), keys.end(), c) == keys.end() &&
        std::find(kBookkeeping.begin(), kBookkeeping.end(), c) == kBookkeeping.end()) {
      metrics.push_back(c);
    }
  }
  return metrics;
}

std::vector<std::string> without(std::vector<std::string> keys, const std::string& key) {
  keys.erase(std::remove(keys.begin(), keys.end(), key), keys.end());
  return keys;
}

}  // namespace

void check_metric_column(const TrialRows& trials, const std::string& metric, const char* option) {
  const auto metrics = metric_columns(trials);
  if (std::find(metrics.begin(), metrics.end(), metric) == metrics.end()) {
    fail_usage("{}: '{}' is not a metric of the results view{} (metrics: {})", option, metric,
               did_you_mean(metric, metrics), join(metrics));
  }
}

std::string selection_metric(const TrialRows& trials, const RowSet& rows,
                             const std::string& requested, std::vector<std::string>& notes) {
  if (!requested.empty()) {
    check_metric_column(trials, requested, "--select-on");
    return requested;
  }
  if (std::any_of(rows.begin(), rows.end(),
                  [&](size_t r) { return trials.number(r, "val_acc").has_value(); })) {
    return "val_acc";
  }
  notes.push_back(
      "no trial has a validation split (val_fraction 0): the best value is picked on test_acc, "
      "which flatters it; set val_fraction to pick on val_acc");
  return "test_acc";
}

std::vector<Group> group_by_settings(const TrialSettings& settings, const RowSet& rows,
                                     const std::vector<std::string>& keys) {
  return group_rows(rows, keys, [&](size_t r, const std::string& k) {
    return setting_value(settings.get(r, k));
  });
}

std::vector<Selection> select_best(const TrialRows& trials, const TrialSettings& settings,
                                   const RowSet& rows, const std::string& tune,
                                   const std::vector<std::string>& cell_keys,
                                   const std::string& select_on) {
  std::vector<Selection> selections;
  for (const Group& cell : group_by_settings(settings, rows, cell_keys)) {
    Selection s;
    s.cell = cell.key;
    int64_t first_n = -1;
    for (const Group& value : group_by_settings(settings, cell.rows, {tune})) {
      const Summary score = summarize_metric(trials, value.rows, select_on);
      if (score.n == 0) continue;
      ++s.candidates;
      if (first_n < 0) first_n = score.n;
      if (score.n != first_n) s.unequal_seeds = true;
      if (s.rows.empty() || score.mean > s.score) {
        s.best = value.key[0];
        s.rows = value.rows;
        s.score = score.mean;
      }
    }
    selections.push_back(std::move(s));
  }
  return selections;
}

std::string unequal_seeds_note(const std::vector<Selection>& selections, const std::string& tune) {
  const auto unequal = std::count_if(selections.begin(), selections.end(),
                                     [](const Selection& s) { return s.unequal_seeds; });
  if (unequal == 0) return {};
  return fmt::format(
      "{} of {} combination(s) picked {} among means over different numbers of trials (a sweep "
      "still running?): a mean over fewer seeds strays further by chance, which can win the pick",
      unequal, selections.size(), tune);
}

ValueTable best_table(const TrialRows& trials, const TrialSettings& settings,
                      const SelectionSpec& spec) {
  ValueTable table;
  table.notes = trials.table().notes;
  const auto keys = settings.keys();
  if (spec.tune == "seed" || std::find(keys.begin(), keys.end(), spec.tune) == keys.end()) {
    fail_usage("--tune: '{}' is not a setting that can be tuned{} (e.g. alpha, lr, patch)",
               spec.tune, did_you_mean(spec.tune, without(keys, "seed")));
  }
  check_metric_column(trials, spec.metric, "--metric");
  const RowSet all = trials.all();
  const std::string select = selection_metric(trials, all, spec.select_on, table.notes);
  const auto cell_keys = without(settings.varying_keys(all), spec.tune);
  table.columns = cell_keys;
  table.columns.insert(table.columns.end(), {spec.tune, "candidates", "n"});
  if (select != spec.metric) table.columns.push_back(select);
  for (const char* suffix : {"", "_std", "_ci_low", "_ci_high"})
    table.columns.push_back(spec.metric + suffix);
  int64_t no_choice = 0;
  const auto selections = select_best(trials, settings, all, spec.tune, cell_keys, select);
  for (const Selection& s : selections) {
    if (s.candidates < 2 && !is_null(s.best)) ++no_choice;
    std::vector<Value> row;
    // Reserved: regrowing a vector of variants here trips a false -Wmaybe-uninitialized (GCC 12).
    row.reserve(table.columns.size());
    row.insert(row.end(), s.cell.begin(), s.cell.end());
    row.push_back(s.best);
    // A key that does not apply (alpha under softmax) had nothing to choose from.
    Value candidates;
    if (!is_null(s.best)) candidates = s.candidates;
    row.push_back(candidates);
    std::vector<double> values;
    for (size_t r : s.rows) {
      if (const auto v = trials.number(r, spec.metric)) values.push_back(*v);
    }
    const MeanInterval m = mean_interval(values);
    row.emplace_back(m.n);  // in place: a moved temporary trips the same false warning
    if (select != spec.metric) row.push_back(real_or_null(s.score));
    for (double v : {m.mean, m.std, m.low, m.high}) row.push_back(real_or_null(v));
    table.rows.push_back(std::move(row));
  }
  table.notes.push_back(fmt::format(
      "{} picked per row by the highest mean {}; {} reported at it with its 95% t-interval over "
      "the seeds",
      spec.tune, select, spec.metric));
  if (no_choice > 0) {
    table.notes.push_back(fmt::format("{} row(s) had fewer than two values of {} to choose from",
                                      no_choice, spec.tune));
  }
  if (auto note = unequal_seeds_note(selections, spec.tune); !note.empty())
    table.notes.push_back(std::move(note));
  return table;
}

}  // namespace vitsweep::report
