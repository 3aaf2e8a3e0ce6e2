#include "report/trial_slices.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "common/error.hpp"
#include "common/text.hpp"
#include "config/trial_config.hpp"
#include "sweep/identity.hpp"

namespace vitsweep::report {

namespace {

const KeyDescription* describe_key(const std::string& key) {
  for (const auto& k : config_keys()) {
    if (k.name == key) return &k;
  }
  return nullptr;
}

// The keys of the attention branch itself (heads, qk_norm, gate): those the identity drops for a
// model without attention on top of what it drops for softmax. (alpha and the other point-wise
// settings are NULL under softmax too, where the figures keep NULL as softmax's own value.)
const std::vector<std::string>& attention_branch_keys() {
  static const std::vector<std::string> keys = [] {
    auto dropped = [](const char* attn) {
      return sweep::irrelevant_keys(parse_trial_config({{"attn", attn}}, "attention keys"));
    };
    const std::vector<std::string> none = dropped("none"), softmax = dropped("softmax");
    std::vector<std::string> branch;
    for (const auto& key : none) {
      if (std::find(softmax.begin(), softmax.end(), key) == softmax.end()) branch.push_back(key);
    }
    return branch;
  }();
  return keys;
}

// A trial without attention (attn = none) has no attention branch: its keys read NULL in its row,
// and that NULL is not another value of the key.
bool does_not_apply(const TrialRows& trials, size_t row, const std::string& key) {
  const auto& branch = attention_branch_keys();
  if (std::find(branch.begin(), branch.end(), key) == branch.end()) return false;
  return is_null(trials.at(row, key)) && trials.table().find("attn") &&
         format_value(trials.at(row, "attn")) == "none";
}

}  // namespace

bool key_value_less(const std::string& key, const Value& a, const Value& b) {
  const KeyDescription* k = describe_key(key);
  const auto* sa = std::get_if<std::string>(&a);
  const auto* sb = std::get_if<std::string>(&b);
  if (k && !k->choices.empty() && sa && sb) {
    const auto ia = std::find(k->choices.begin(), k->choices.end(), *sa) - k->choices.begin();
    const auto ib = std::find(k->choices.begin(), k->choices.end(), *sb) - k->choices.begin();
    if (ia != ib) return ia < ib;
  }
  return value_less(a, b);
}

RowSet TrialRows::all() const {
  RowSet rows(size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  return rows;
}

const Value& TrialRows::at(size_t row, const std::string& column) const {
  return table_.rows[row][table_.index(column)];
}

std::optional<double> TrialRows::number(size_t row, const std::string& column) const {
  return as_number(at(row, column));
}

std::vector<std::string> varying_config_keys(const TrialRows& trials, const RowSet& rows) {
  std::vector<std::string> keys;
  if (rows.empty()) return keys;
  for (const auto& key : config_key_names()) {
    if (key == "seed" || !trials.table().find(key)) continue;
    const Value* first = nullptr;
    for (size_t r : rows) {
      if (does_not_apply(trials, r, key)) continue;
      if (!first) {
        first = &trials.at(r, key);
      } else if (!value_equal(trials.at(r, key), *first)) {
        keys.push_back(key);
        break;
      }
    }
  }
  return keys;
}

std::string value_label(const std::string& key, const Value& value) {
  const KeyDescription* k = describe_key(key);
  if (key == "attn") return is_null(value) ? "-" : format_value(value);
  if (k && k->type == "boolean" && as_number(value)) {
    return fmt::format("{} {}", key, *as_number(value) != 0 ? "on" : "off");
  }
  return fmt::format("{}={}", key, is_null(value) ? "-" : format_value(value));
}

std::string values_label(const std::vector<std::string>& keys, const KeyValues& values) {
  std::string label;
  for (size_t i = 0; i < keys.size(); ++i) {
    // NULL: the key does not apply to this trial (alpha under softmax); saying so is noise.
    if (is_null(values[i])) continue;
    label += (label.empty() ? "" : ", ") + value_label(keys[i], values[i]);
  }
  return label;
}

Value default_value(const std::string& key) {
  const KeyDescription* k = describe_key(key);
  if (!k) fail("internal: no config key '{}'", key);
  const Json& d = k->default_value;
  if (d.is_boolean()) return static_cast<int64_t>(d.get<bool>() ? 1 : 0);
  if (d.is_number_integer()) return d.get<int64_t>();
  if (d.is_number()) return d.get<double>();
  if (d.is_string()) return d.get<std::string>();
  return std::monostate{};
}

std::vector<std::pair<KeyValues, std::vector<size_t>>> group_positions(
    size_t n, const std::vector<std::string>& keys,
    const std::function<KeyValues(size_t)>& key_of) {
  std::vector<std::pair<KeyValues, std::vector<size_t>>> groups;
  for (size_t i = 0; i < n; ++i) {
    KeyValues key = key_of(i);
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) {
      return std::equal(g.first.begin(), g.first.end(), key.begin(), value_equal);
    });
    if (it == groups.end())
      groups.emplace_back(std::move(key), std::vector<size_t>{i});
    else
      it->second.push_back(i);
  }
  std::stable_sort(groups.begin(), groups.end(), [&](const auto& a, const auto& b) {
    for (size_t i = 0; i < keys.size(); ++i) {
      if (key_value_less(keys[i], a.first[i], b.first[i])) return true;
      if (key_value_less(keys[i], b.first[i], a.first[i])) return false;
    }
    return false;
  });
  return groups;
}

std::vector<Group> group_rows(const RowSet& rows, const std::vector<std::string>& keys,
                              const std::function<Value(size_t, const std::string&)>& value_of) {
  std::vector<Group> groups;
  const auto key_of = [&](size_t i) {
    KeyValues key;
    for (const auto& k : keys) key.push_back(value_of(rows[i], k));
    return key;
  };
  for (auto& [key, positions] : group_positions(rows.size(), keys, key_of)) {
    RowSet members;
    for (size_t p : positions) members.push_back(rows[p]);
    groups.push_back({std::move(key), std::move(members)});
  }
  return groups;
}

std::vector<Group> group_by(const TrialRows& trials, const RowSet& rows,
                            const std::vector<std::string>& keys) {
  return group_rows(rows, keys, [&](size_t r, const std::string& k) { return trials.at(r, k); });
}

RowSet select_rows(const TrialRows& trials, const RowSet& rows,
                   const std::vector<std::string>& keys, const KeyValues& values) {
  RowSet selected;
  for (size_t r : rows) {
    bool match = true;
    for (size_t i = 0; i < keys.size() && match; ++i)
      match = value_equal(trials.at(r, keys[i]), values[i]);
    if (match) selected.push_back(r);
  }
  return selected;
}

Summary summarize_metric(const TrialRows& trials, const RowSet& rows, const std::string& metric) {
  std::vector<double> values;
  for (size_t r : rows) {
    if (const auto v = trials.number(r, metric)) values.push_back(*v);
  }
  return summarize(values);
}

FigureSlice slice_for_figure(const TrialRows& trials, const RowSet& rows,
                             const std::vector<std::string>& axes,
                             const std::vector<std::string>& held) {
  FigureSlice slice;
  RowSet kept = rows;
  const auto varying = varying_config_keys(trials, rows);
  auto varies = [&](const std::string& key) {
    return std::find(varying.begin(), varying.end(), key) != varying.end();
  };
  auto is_axis = [&](const std::string& key) {
    return std::find(axes.begin(), axes.end(), key) != axes.end();
  };
  for (const auto& key : held) {
    if (is_axis(key) || !varies(key)) continue;
    const Value d = default_value(key);
    RowSet at_default;
    for (size_t r : kept) {
      if (value_equal(trials.at(r, key), d) || does_not_apply(trials, r, key)) {
        at_default.push_back(r);
      }
    }
    if (at_default.empty()) continue;  // no default trials: it becomes a panel key below
    kept = std::move(at_default);
    slice.notes.push_back(fmt::format("{} held at its default ({})", key, value_label(key, d)));
  }
  for (const auto& key : varying_config_keys(trials, kept)) {
    if (!is_axis(key)) slice.panel_keys.push_back(key);
  }
  for (const Group& g : group_by(trials, kept, slice.panel_keys)) {
    slice.panels.push_back({g.key, values_label(slice.panel_keys, g.key), g.rows});
  }
  return slice;
}

}  // namespace vitsweep::report
