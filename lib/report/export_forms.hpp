// The three shapes `sweep export` writes (as CSV, report/csv.hpp). Columns come in a fixed order
// so scripts can rely on it: config keys in config_keys() order, then metrics in a fixed order.
//
//   long   one row per trial x metric x epoch, from the metrics table:
//            sweep, trial, <config keys>, epoch, step, name, value
//          rows by sweep, trial position, step, then metric in the order train_loss, train_acc,
//          val_loss, val_acc, test_loss, test_acc, lr, epoch_s, img_per_s (others after, by name)
//   wide   one row per trial, from the results view:
//            sweep, trial, status, <config keys>, <final metrics: store::final_metric_columns()>,
//            best_test_acc, best_epoch, attempts, error
//   pivot  trials with status 'done' grouped by --rows keys (one row per distinct combination)
//          and --cols keys (one column group per combination), aggregating --value over the rest
//          (the seeds; a trial in several sweeps counts once): <row keys>, then per column
//          combination and aggregate a column "KEY=VALUE[,KEY=VALUE]:AGG" ("METRIC:AGG" when
//          there are no --cols)
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "report/summary_stats.hpp"
#include "report/trial_filter.hpp"
#include "report/value_table.hpp"
#include "store/database.hpp"

namespace vitsweep::report {

enum class ExportForm { long_form, wide, pivot };

// "long", "wide", "pivot"; anything else is a UsageError.
ExportForm parse_export_form(std::string_view name);

struct PivotSpec {
  std::vector<std::string> rows;  // results columns, e.g. {"alpha"}
  std::vector<std::string> cols;  // may be empty: one column group
  std::string value = "test_acc";
  std::vector<Aggregate> aggregates = {Aggregate::mean, Aggregate::std, Aggregate::n};
};

ValueTable export_long(store::Database& db, const TrialFilter& filter);
ValueTable export_wide(store::Database& db, const TrialFilter& filter);
// Notes say how many trials were left out (not done, or no value) and which settings other than
// the seed differ inside a cell (pooled: add them to --rows or --cols, or filter with --where).
ValueTable export_pivot(store::Database& db, const TrialFilter& filter, const PivotSpec& spec);

// --only-changed: removes config-key columns whose value is the same in every row.
void drop_constant_config_columns(ValueTable& table);

// The metrics of the long form in their fixed order.
const std::vector<std::string>& long_form_metric_order();

}  // namespace vitsweep::report
