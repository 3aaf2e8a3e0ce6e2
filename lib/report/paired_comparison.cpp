#include "report/paired_comparison.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "common/error.hpp"
#include "common/json.hpp"
#include "common/text.hpp"
#include "report/csv.hpp"
#include "report/model_selection.hpp"
#include "report/paper_figures.hpp"

namespace vitsweep::report {

namespace {

// Unmatched trials named in a note, at most.
constexpr size_t kExamples = 4;

struct Pair {
  size_t a, b;  // rows
};

bool contains(const std::vector<std::string>& keys, const std::string& key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

std::vector<std::string> without(std::vector<std::string> keys,
                                 const std::vector<std::string>& drop) {
  keys.erase(std::remove_if(keys.begin(), keys.end(),
                            [&](const std::string& k) { return contains(drop, k); }),
             keys.end());
  return keys;
}

// A setting the comparison can name: a config key of the results other than seed (and other than
// those in `taken`).
void check_setting_key(const TrialSettings& settings, const std::string& key, const char* option,
                       const std::vector<std::string>& taken = {}) {
  const auto keys = without(settings.keys(), {"seed"});
  if (!contains(keys, key)) {
    fail_usage("{}: '{}' is not a setting of the results view{} (settings: {})", option, key,
               did_you_mean(key, keys), join(keys));
  }
  if (contains(taken, key)) fail_usage("{}: '{}' is already compared or tuned", option, key);
}

// --a / --b text as the results view types the key's values; checked like a --set value.
Value parse_side(const std::string& key, const std::string& text, const char* option) {
  const auto [name, json] = parse_setting(key + "=" + text);
  check_setting(name, json, option);
  return setting_from_json(json);
}

struct Sides {
  RowSet a, b;
};

// The trials with KEY = A and KEY = B (a key that does not apply to a trial puts it on neither
// side), each with the metric.
Sides split_sides(const TrialRows& t, const TrialSettings& s, const ComparisonSpec& spec,
                  std::vector<std::string>& notes) {
  const Value a = parse_side(spec.key, spec.a, "--a"), b = parse_side(spec.key, spec.b, "--b");
  if (value_equal(a, b)) fail_usage("--a and --b: both are {}={}", spec.key, format_value(a));
  Sides sides;
  int64_t not_applicable = 0, no_metric = 0;
  for (size_t r = 0; r < t.size(); ++r) {
    const Setting& setting = s.get(r, spec.key);
    if (!setting.applies) {
      ++not_applicable;
      continue;
    }
    const bool is_a = value_equal(setting.value, a), is_b = value_equal(setting.value, b);
    if (!is_a && !is_b) continue;
    if (!t.number(r, spec.metric)) {
      ++no_metric;
      continue;
    }
    (is_a ? sides.a : sides.b).push_back(r);
  }
  auto check_found = [&](const RowSet& side, const Value& value, const char* option) {
    if (!side.empty()) return;
    std::vector<std::string> values;
    for (const Group& g : group_by_settings(s, t.all(), {spec.key}))
      if (!is_null(g.key[0])) values.push_back(format_value(g.key[0]));
    fail_usage("{}: no done trial with {} = {} and a {} (values of {}: {})", option, spec.key,
               format_value(value), spec.metric, spec.key, join(values));
  };
  check_found(sides.a, a, "--a");
  check_found(sides.b, b, "--b");
  if (not_applicable > 0) {
    notes.push_back(fmt::format("{} trial(s) to which {} does not apply are left out",
                                not_applicable, spec.key));
  }
  if (no_metric > 0) {
    notes.push_back(fmt::format("{} trial(s) without a {} are left out", no_metric, spec.metric));
  }
  return sides;
}

// Keeps, per combination of the side's other settings, the trials at the best value of the tuned
// key; notes picks among means over unequal numbers of trials.
RowSet tune_side(const TrialRows& t, const TrialSettings& s, const RowSet& side,
                 const ComparisonSpec& spec, const std::string& value, const std::string& select_on,
                 std::vector<std::string>& notes) {
  const auto cells = without(s.varying_keys(side), {spec.tune, spec.key});
  RowSet kept;
  const auto selections = select_best(t, s, side, spec.tune, cells, select_on);
  for (const Selection& sel : selections) kept.insert(kept.end(), sel.rows.begin(), sel.rows.end());
  std::sort(kept.begin(), kept.end());
  if (const auto note = unequal_seeds_note(selections, spec.tune); !note.empty())
    notes.push_back(fmt::format("{} = {}: {}", spec.key, value, note));
  return kept;
}

std::vector<Pair> match(const TrialSettings& s, const Sides& sides,
                        const std::vector<std::string>& keys) {
  std::vector<Pair> pairs;
  for (size_t a : sides.a) {
    for (size_t b : sides.b) {
      if (std::all_of(keys.begin(), keys.end(), [&](const std::string& k) {
            return settings_match(s.get(a, k), s.get(b, k));
          }))
        pairs.push_back({a, b});
    }
  }
  return pairs;
}

std::string trial_label(const TrialRows& t, const TrialSettings& s, size_t r,
                        const std::vector<std::string>& keys) {
  KeyValues values;
  for (const auto& k : keys) values.push_back(setting_value(s.get(r, k)));
  return fmt::format("{} ({})", format_value(t.at(r, "trial")), values_label(keys, values));
}

void note_unmatched(const TrialRows& t, const TrialSettings& s, const ComparisonSpec& spec,
                    const Sides& sides, const std::vector<Pair>& pairs,
                    std::vector<std::string>& notes) {
  RowSet all = sides.a;
  all.insert(all.end(), sides.b.begin(), sides.b.end());
  auto label_keys = without(s.varying_keys(all), {spec.key});
  label_keys.push_back("seed");
  auto note_side = [&](const RowSet& side, bool side_a) {
    std::vector<std::string> examples;
    size_t unmatched = 0;
    for (size_t r : side) {
      const bool paired = std::any_of(pairs.begin(), pairs.end(),
                                      [&](const Pair& p) { return (side_a ? p.a : p.b) == r; });
      if (paired) continue;
      if (++unmatched <= kExamples) examples.push_back(trial_label(t, s, r, label_keys));
    }
    if (unmatched == 0) return;
    notes.push_back(fmt::format(
        "{} trial(s) with {}={} have no partner with {}={}, the same seed and the same other "
        "settings, and are left out: {}{}",
        unmatched, spec.key, side_a ? spec.a : spec.b, spec.key, side_a ? spec.b : spec.a,
        join(examples, "; "), unmatched > kExamples ? "; ..." : ""));
  };
  note_side(sides.a, true);
  note_side(sides.b, false);
}

// A pair's setting of `key`: the one of the trial it applies to.
Value pair_value(const TrialSettings& s, const Pair& p, const std::string& key) {
  const Setting& a = s.get(p.a, key);
  return a.applies ? a.value : setting_value(s.get(p.b, key));
}

struct PairGroup {
  KeyValues key;
  std::vector<Pair> pairs;
};

std::vector<PairGroup> group_pairs(const TrialSettings& s, const std::vector<Pair>& pairs,
                                   const std::vector<std::string>& by) {
  std::vector<PairGroup> groups;
  const auto key_of = [&](size_t i) {
    KeyValues key;
    for (const auto& k : by) key.push_back(pair_value(s, pairs[i], k));
    return key;
  };
  for (auto& [key, positions] : group_positions(pairs.size(), by, key_of)) {
    std::vector<Pair> members;
    for (size_t p : positions) members.push_back(pairs[p]);
    groups.push_back({std::move(key), std::move(members)});
  }
  return groups;
}

// Default groups: every setting other than the compared and tuned keys that varies among pairs.
std::vector<std::string> group_keys(const TrialSettings& s, const ComparisonSpec& spec,
                                    const std::vector<Pair>& pairs) {
  if (spec.pool) return {};
  std::vector<std::string> taken = {spec.key, "seed"};
  if (!spec.tune.empty()) taken.push_back(spec.tune);
  if (!spec.by.empty()) {
    for (const auto& k : spec.by) check_setting_key(s, k, "--by", taken);
    return spec.by;
  }
  std::vector<std::string> by;
  for (const auto& k : without(s.keys(), taken)) {
    const bool varies = std::any_of(pairs.begin(), pairs.end(), [&](const Pair& p) {
      return !value_equal(pair_value(s, p, k), pair_value(s, pairs.front(), k));
    });
    if (varies) by.push_back(k);
  }
  return by;
}

// Settings in which the partners of a trial used twice in `g` differ: the keys to group by.
std::set<std::string> dependence(const TrialSettings& s, const PairGroup& g) {
  std::set<std::string> keys;
  for (const Pair& p : g.pairs) {
    for (const Pair& q : g.pairs) {
      if (&p == &q || (p.a != q.a && p.b != q.b)) continue;
      const size_t x = p.a == q.a ? p.b : p.a, y = p.a == q.a ? q.b : q.a;
      for (const auto& k : s.varying_keys({x, y})) keys.insert(k);
    }
  }
  return keys;
}

std::string verdict(const ComparisonSpec& spec, const Value& a, const Value& b,
                    const MeanInterval& d) {
  if (!d.defined()) return "n = 1: no interval";
  if (d.holds_zero()) return "interval holds 0";
  return fmt::format("{} {} {}", value_label(spec.key, b), d.mean > 0 ? ">" : "<",
                     value_label(spec.key, a));
}

// The tuned key's values picked on one side of a group: one value, or several joined.
Value picked(const TrialSettings& s, const PairGroup& g, const std::string& tune, bool side_a) {
  std::vector<Value> values;
  for (const Pair& p : g.pairs) {
    const Value v = setting_value(s.get(side_a ? p.a : p.b, tune));
    if (std::none_of(values.begin(), values.end(),
                     [&](const Value& w) { return value_equal(v, w); }))
      values.push_back(v);
  }
  if (values.size() == 1) return values[0];
  std::sort(values.begin(), values.end(), value_less);
  std::vector<std::string> text;
  for (const Value& v : values) text.push_back(format_value(v));
  return join(text, " ");
}

}  // namespace

PooledStd pooled_trial_std(const TrialRows& trials, const TrialSettings& settings,
                           const RowSet& rows, const std::string& metric) {
  std::vector<std::vector<double>> cells;
  for (const Group& cell : group_by_settings(settings, rows, settings.varying_keys(rows))) {
    std::vector<double> values;
    for (size_t r : cell.rows) {
      if (const auto v = trials.number(r, metric)) values.push_back(*v);
    }
    cells.push_back(std::move(values));
  }
  return pooled_std(cells);
}

namespace {

// --tune: each side at its best values of the tuned key.
Sides tune_sides(const TrialRows& t, const TrialSettings& s, const ComparisonSpec& spec,
                 const Sides& sides, std::vector<std::string>& notes) {
  RowSet both = sides.a;
  both.insert(both.end(), sides.b.begin(), sides.b.end());
  const std::string select = selection_metric(t, both, spec.select_on, notes);
  notes.push_back(fmt::format(
      "{} set on each side, per combination of the other settings, to its value with the best "
      "mean {}",
      spec.tune, select));
  return {tune_side(t, s, sides.a, spec, spec.a, select, notes),
          tune_side(t, s, sides.b, spec, spec.b, select, notes)};
}

std::vector<Value> group_row(const TrialRows& t, const TrialSettings& s, const ComparisonSpec& spec,
                             const PairGroup& g) {
  std::vector<double> da, db, diff;
  for (const Pair& p : g.pairs) {
    da.push_back(*t.number(p.a, spec.metric));
    db.push_back(*t.number(p.b, spec.metric));
    diff.push_back(db.back() - da.back());
  }
  const MeanInterval d = mean_interval(diff);
  std::vector<Value> row = g.key;
  if (!spec.tune.empty()) {
    row.push_back(picked(s, g, spec.tune, true));
    row.push_back(picked(s, g, spec.tune, false));
  }
  row.push_back(d.n);
  row.push_back(summarize(da).mean);
  row.push_back(summarize(db).mean);
  for (double v : {d.mean, d.se, d.low, d.high}) row.push_back(real_or_null(v));
  row.push_back(
      verdict(spec, parse_side(spec.key, spec.a, "--a"), parse_side(spec.key, spec.b, "--b"), d));
  return row;
}

void note_dependence(const TrialSettings& s, const std::vector<PairGroup>& groups,
                     std::vector<std::string>& notes) {
  std::set<std::string> keys;
  size_t dependent = 0;
  for (const PairGroup& g : groups) {
    const auto mine = dependence(s, g);
    dependent += mine.empty() ? 0 : 1;
    keys.insert(mine.begin(), mine.end());
  }
  if (dependent == 0) return;
  const std::string names = join(std::vector<std::string>(keys.begin(), keys.end()));
  notes.push_back(fmt::format(
      "{} group(s) use one trial in several pairs (its partners differ in {}): those differences "
      "are not independent and their interval is too narrow; add {} to --by",
      dependent, names, names));
}

}  // namespace

Comparison compare_trials(const TrialRows& t, const TrialSettings& s, const ComparisonSpec& spec) {
  check_setting_key(s, spec.key, "--key");
  check_metric_column(t, spec.metric, "--metric");
  if (!spec.tune.empty()) check_setting_key(s, spec.tune, "--tune", {spec.key});
  Comparison c;
  std::vector<std::string>& notes = c.table.notes;
  notes = t.table().notes;
  Sides sides = split_sides(t, s, spec, notes);
  std::vector<std::string> ignore = {spec.key};
  if (!spec.tune.empty()) {
    sides = tune_sides(t, s, spec, sides, notes);
    ignore.push_back(spec.tune);
  }
  const std::vector<Pair> pairs = match(s, sides, without(s.keys(), ignore));
  note_unmatched(t, s, spec, sides, pairs, notes);
  c.heading = fmt::format(
      "{}, {} - {}: pairs of trials that differ only in {}{}, matched on seed and every other "
      "setting; mean difference with its 95% t-interval",
      spec.metric, value_label(spec.key, parse_side(spec.key, spec.b, "--b")),
      value_label(spec.key, parse_side(spec.key, spec.a, "--a")), spec.key,
      spec.tune.empty() ? "" : fmt::format(" (and {}, tuned per side)", spec.tune));
  if (pairs.empty()) {
    notes.push_back("no pairs: nothing to compare");
    return c;
  }
  const auto by = group_keys(s, spec, pairs);
  c.table.columns = by;
  if (!spec.tune.empty())
    c.table.columns.insert(c.table.columns.end(), {"a_" + spec.tune, "b_" + spec.tune});
  c.table.columns.insert(c.table.columns.end(),
                         {"n", "a_mean", "b_mean", "diff", "se", "ci_low", "ci_high", "verdict"});
  const auto groups = group_pairs(s, pairs, by);
  for (const PairGroup& g : groups) c.table.rows.push_back(group_row(t, s, spec, g));
  note_dependence(s, groups, notes);
  return c;
}

std::string noise_line(const Comparison& c) {
  if (c.noise.rows.empty()) return "";
  const auto& row = c.noise.rows[0];
  const auto value = [&](const char* column) { return row[c.noise.index(column)]; };
  if (is_null(value("pooled_std"))) return "pooled per-trial std: none (no setting has two seeds)";
  return fmt::format(
      "pooled per-trial std of {} in sweep {}: {} ({} cells of seeds, {} trials, {} dof)",
      format_value(value("metric")), format_value(value("sweep")),
      format_value(value("pooled_std"), kReadableDigits), format_value(value("cells")),
      format_value(value("trials")), format_value(value("dof")));
}

std::string format_comparison(const Comparison& c, const ComparisonSpec& spec, TableFormat format) {
  if (format == TableFormat::csv) return format_csv(c.table);
  if (format == TableFormat::json) {
    OrderedJson out = {{"heading", c.heading},
                       {"key", spec.key},
                       {"a", spec.a},
                       {"b", spec.b},
                       {"metric", spec.metric}};
    out["comparison"] = OrderedJson::parse(format_json(c.table));
    out["noise"] = OrderedJson::parse(format_json(c.noise));
    out["notes"] = c.table.notes;
    return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  std::string text = c.heading + "\n\n" + format_table(c.table, format);
  if (c.table.rows.empty()) text += "(no pairs)\n";
  return text + "\n" + noise_line(c) + "\n";
}

Comparison compare_paired(store::Database& db, const TrialFilter& filter,
                          const ComparisonSpec& spec) {
  const TrialFilter one{resolve_sweep(db, filter.sweep), filter.where};
  const TrialRows trials = load_done_trials(db, one);
  if (trials.size() == 0) fail_usage("sweep '{}': no done trials to compare", one.sweep);
  const TrialSettings settings(db, trials);
  Comparison c = compare_trials(trials, settings, spec);
  const PooledStd noise = pooled_trial_std(trials, settings, trials.all(), spec.metric);
  c.noise.columns = {"sweep", "metric", "cells", "trials", "dof", "pooled_std"};
  c.noise.rows.push_back(
      {one.sweep, spec.metric, noise.groups, noise.values, noise.dof, real_or_null(noise.std)});
  if (noise.dof == 0) {
    c.noise.notes.push_back(
        "no setting of this sweep was run with two or more seeds: no per-trial spread to pool");
  }
  return c;
}

}  // namespace vitsweep::report
