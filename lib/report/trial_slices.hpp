// Slicing a sweep's finished trials the way each of the paper's figures needs: group by some
// config keys, average over the seeds, hold the other ablations at their default (Fig. 2 is drawn
// without qk-layernorm and without a gate when the sweep also varies those), and split whatever
// else varies (a patch size, a learning rate) into separate panels rather than pooling it.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "report/summary_stats.hpp"
#include "report/value_table.hpp"

namespace vitsweep::report {

using RowSet = std::vector<size_t>;
using KeyValues = std::vector<Value>;

// Rows of the results view with lookups by column name.
class TrialRows {
 public:
  explicit TrialRows(ValueTable table) : table_(std::move(table)) {}
  size_t size() const { return table_.rows.size(); }
  RowSet all() const;
  const Value& at(size_t row, const std::string& column) const;
  std::optional<double> number(size_t row, const std::string& column) const;
  const ValueTable& table() const { return table_; }

 private:
  ValueTable table_;
};

// Config keys (in config_keys() order, seed excluded) whose value differs between `rows`. The
// NULL heads, qk_norm and gate of a trial without attention (attn = none) differ from nothing.
std::vector<std::string> varying_config_keys(const TrialRows& trials, const RowSet& rows);

// How a setting reads in a legend or title: "relu" for attn, "qk_norm on" for booleans,
// "alpha=0.5" otherwise ("alpha=-" for NULL).
std::string value_label(const std::string& key, const Value& value);
// "relu, alpha=0.5, qk_norm on"; keys whose value is NULL (not applicable) are left out.
std::string values_label(const std::vector<std::string>& keys, const KeyValues& values);

// Order of two values of `key`: by the key's choices when it has some (attn: softmax first, then
// relu, relu2, ... as `sweep config keys` lists them), else value_less.
bool key_value_less(const std::string& key, const Value& a, const Value& b);

// A config key's default as the results view stores it (booleans as 0 and 1).
Value default_value(const std::string& key);

// Rows grouped by the values of `keys`, groups in value order (attn in its choices order).
struct Group {
  KeyValues key;
  RowSet rows;
};
std::vector<Group> group_by(const TrialRows& trials, const RowSet& rows,
                            const std::vector<std::string>& keys);

// Rows grouped by the values `value_of(row, key)` gives for `keys` (group_by reads them from the
// results view; comparisons from the trials' settings), groups in key order.
std::vector<Group> group_rows(const RowSet& rows, const std::vector<std::string>& keys,
                              const std::function<Value(size_t, const std::string&)>& value_of);

// Positions 0 .. n-1 grouped by the values of `keys` that `key_of(position)` gives, groups in
// key order (key_value_less, first key first), positions in order within a group: what group_by
// and the groupings of comparisons are built on.
std::vector<std::pair<KeyValues, std::vector<size_t>>> group_positions(
    size_t n, const std::vector<std::string>& keys, const std::function<KeyValues(size_t)>& key_of);

// The rows whose `keys` have `values`.
RowSet select_rows(const TrialRows& trials, const RowSet& rows,
                   const std::vector<std::string>& keys, const KeyValues& values);

Summary summarize_metric(const TrialRows& trials, const RowSet& rows, const std::string& metric);

struct Panel {
  KeyValues key;      // values of the slice's panel keys
  std::string label;  // "patch=2, lr=0.001"; empty when there is one panel
  RowSet rows;
};

struct FigureSlice {
  std::vector<std::string> panel_keys;
  std::vector<Panel> panels;
  std::vector<std::string> notes;  // which keys were held at their default
};

// `axes`: the keys the figure shows. `held`: ablation keys held at their default when they vary
// and the default is present (otherwise they become panel keys). Every other key that varies,
// except seed, splits the figure into panels.
FigureSlice slice_for_figure(const TrialRows& trials, const RowSet& rows,
                             const std::vector<std::string>& axes,
                             const std::vector<std::string>& held);

}  // namespace vitsweep::report
