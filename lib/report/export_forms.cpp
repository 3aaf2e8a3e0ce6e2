#include "report/export_forms.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/error.hpp"
#include "common/text.hpp"
#include "config/trial_config.hpp"
#include "report/read_only_sql.hpp"
#include "store/schema.hpp"

namespace vitsweep::report {

namespace {

// Trials in the order their sweeps were created, then in each sweep's expansion order.
constexpr const char* kSweepOrder =
    "(SELECT id FROM sweeps WHERE sweeps.name = {0}.sweep), {0}.position";

using Key = std::vector<Value>;

struct KeyLess {
  bool operator()(const Key& a, const Key& b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), value_less);
  }
};

std::string describe(const Value& v) { return is_null(v) ? "NULL" : format_value(v); }

void require_columns(const ValueTable& trials, const std::vector<std::string>& names,
                     const char* option) {
  for (const auto& name : names) {
    if (!trials.find(name)) {
      fail_usage("{}: '{}' is not a column of the results view{} (columns: {})", option, name,
                 did_you_mean(name, trials.columns), join(trials.columns));
    }
  }
}

}  // namespace

ExportForm parse_export_form(std::string_view name) {
  if (name == "long") return ExportForm::long_form;
  if (name == "wide") return ExportForm::wide;
  if (name == "pivot") return ExportForm::pivot;
  fail_usage("--form: unknown form '{}' (expected long, wide or pivot)", name);
}

const std::vector<std::string>& long_form_metric_order() {
  static const std::vector<std::string> order = {"train_loss", "train_acc", "val_loss",
                                                 "val_acc",    "test_loss", "test_acc",
                                                 "lr",         "epoch_s",   "img_per_s"};
  return order;
}

ValueTable export_long(store::Database& db, const TrialFilter& filter) {
  std::vector<Value> parameters;
  const std::string from = results_from_clause(db, filter, parameters);
  std::string columns = "r.sweep, r.trial";
  for (const auto& key : config_key_names()) columns += ", r." + key;
  std::string metric_rank = "CASE m.name";
  const auto& order = long_form_metric_order();
  for (size_t i = 0; i < order.size(); ++i)
    metric_rank += fmt::format(" WHEN '{}' THEN {}", order[i], i);
  metric_rank += fmt::format(" ELSE {} END", order.size());
  const std::string sql = fmt::format(
      "SELECT {}, m.epoch, m.step, m.name, m.value FROM (SELECT * {}) r "
      "JOIN metrics m ON m.trial_hash = r.trial ORDER BY {}, m.step, {}, m.name",
      columns, from, fmt::format(kSweepOrder, "r"), metric_rank);
  return read_only_query(db, sql, parameters, "export --form long");
}

ValueTable export_wide(store::Database& db, const TrialFilter& filter) {
  std::vector<Value> parameters;
  const std::string from = results_from_clause(db, filter, parameters);
  std::string columns = "sweep, trial, status";
  for (const auto& key : config_key_names()) columns += ", " + key;
  for (const auto& metric : store::final_metric_columns()) columns += ", " + metric;
  columns += ", best_test_acc, best_epoch, attempts, error";
  const std::string sql =
      fmt::format("SELECT {} {} ORDER BY {}", columns, from, fmt::format(kSweepOrder, "results"));
  return read_only_query(db, sql, parameters, "export --form wide");
}

ValueTable export_pivot(store::Database& db, const TrialFilter& filter, const PivotSpec& spec) {
  if (spec.rows.empty()) fail_usage("--rows: give at least one key, e.g. --rows alpha");
  std::vector<Value> parameters;
  const std::string from = results_from_clause(db, filter, parameters);
  const ValueTable trials = done_trials(read_only_query(
      db, fmt::format("SELECT * {} ORDER BY {}", from, fmt::format(kSweepOrder, "results")),
      parameters, "export --form pivot"));
  require_columns(trials, spec.rows, "--rows");
  require_columns(trials, spec.cols, "--cols");
  require_columns(trials, {spec.value}, "--value");
  for (const auto& key : spec.cols) {
    if (std::find(spec.rows.begin(), spec.rows.end(), key) != spec.rows.end()) {
      fail_usage("--cols: '{}' is also in --rows; a key can be rows or columns, not both", key);
    }
  }
  const size_t value = trials.index(spec.value);
  auto key_of = [&](const std::vector<Value>& row, const std::vector<std::string>& keys) {
    Key key;
    for (const auto& k : keys) key.push_back(row[trials.index(k)]);
    return key;
  };
  // Settings that may differ inside a cell without mixing different experiments.
  std::set<std::string> grouped(spec.rows.begin(), spec.rows.end());
  grouped.insert(spec.cols.begin(), spec.cols.end());
  grouped.insert("seed");

  std::map<Key, std::map<Key, std::vector<double>, KeyLess>, KeyLess> cells;
  std::map<Key, std::vector<const std::vector<Value>*>, KeyLess> members;  // for the pooling check
  std::set<Key, KeyLess> column_keys;
  int64_t no_value = 0;
  for (const auto& row : trials.rows) {
    const auto v = as_number(row[value]);
    if (!v) {
      ++no_value;
      continue;
    }
    const Key r = key_of(row, spec.rows), c = key_of(row, spec.cols);
    cells[r][c].push_back(*v);
    column_keys.insert(c);
    Key cell = r;
    cell.insert(cell.end(), c.begin(), c.end());
    members[cell].push_back(&row);
  }
  ValueTable table;
  table.columns = spec.rows;
  table.notes = trials.notes;  // the trials not done
  for (const Key& c : column_keys) {
    std::string label;
    for (size_t i = 0; i < c.size(); ++i) {
      label += fmt::format("{}{}={}", i ? "," : "", spec.cols[i], describe(c[i]));
    }
    if (label.empty()) label = spec.value;
    for (Aggregate a : spec.aggregates) table.columns.push_back(label + ":" + aggregate_name(a));
  }
  for (const auto& [r, by_column] : cells) {
    std::vector<Value> out(r.begin(), r.end());
    for (const Key& c : column_keys) {
      const auto it = by_column.find(c);
      const Summary s = summarize(it == by_column.end() ? std::vector<double>{} : it->second);
      for (Aggregate a : spec.aggregates) out.push_back(aggregate_value(s, a));
    }
    table.rows.push_back(std::move(out));
  }
  if (no_value > 0) {
    table.notes.push_back(
        fmt::format("{} done trial(s) without a {} are left out", no_value, spec.value));
  }
  std::vector<std::string> pooled;
  for (const auto& key : config_key_names()) {
    if (grouped.count(key)) continue;
    const size_t k = trials.index(key);
    for (const auto& [cell, rows] : members) {
      const bool differs = std::any_of(rows.begin(), rows.end(), [&](const auto* row) {
        return !value_equal((*row)[k], (*rows.front())[k]);
      });
      if (differs) {
        pooled.push_back(key);
        break;
      }
    }
  }
  if (!pooled.empty()) {
    table.notes.push_back(fmt::format(
        "cells pool trials that differ in {} (not only in seed): add them to --rows or --cols, or "
        "narrow with --where",
        join(pooled)));
  }
  return table;
}

void drop_constant_config_columns(ValueTable& table) {
  if (table.rows.empty()) return;
  const auto keys = config_key_names();
  std::vector<size_t> keep;
  for (size_t c = 0; c < table.columns.size(); ++c) {
    const bool is_key = std::find(keys.begin(), keys.end(), table.columns[c]) != keys.end();
    const bool constant = std::all_of(table.rows.begin(), table.rows.end(), [&](const auto& row) {
      return value_equal(row[c], table.rows.front()[c]);
    });
    if (!is_key || !constant) keep.push_back(c);
  }
  ValueTable kept;
  kept.notes = table.notes;
  for (size_t c : keep) kept.columns.push_back(table.columns[c]);
  for (const auto& row : table.rows) {
    std::vector<Value> out;
    for (size_t c : keep) out.push_back(row[c]);
    kept.rows.push_back(std::move(out));
  }
  table = std::move(kept);
}

}  // namespace vitsweep::report
