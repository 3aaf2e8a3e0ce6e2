#include "report/selection_figures.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "report/figure_parts.hpp"

namespace vitsweep::report {

namespace {

constexpr size_t kMaxScalingPlots = 8;

const std::vector<std::string> kAblationKeys = {"qk_norm", "gate"};

// The point-wise rows, or (pointwise = false) the softmax ones: a trial without attention is
// neither.
RowSet pointwise_rows(const TrialRows& t, const RowSet& rows, bool pointwise = true) {
  RowSet out;
  for (size_t r : rows) {
    if (pointwise ? has_alpha(t, r) : is_softmax(t, r)) out.push_back(r);
  }
  return out;
}

// Differences `metric`(b) - `metric`(a) of trials with the same seed.
MeanInterval paired_by_seed(const TrialRows& t, const RowSet& a, const RowSet& b,
                            const std::string& metric) {
  std::map<int64_t, double> baseline;
  for (size_t r : a) {
    const auto seed = t.number(r, "seed");
    const auto v = t.number(r, metric);
    if (seed && v) baseline[static_cast<int64_t>(*seed)] = *v;
  }
  std::vector<double> differences;
  for (size_t r : b) {
    const auto seed = t.number(r, "seed");
    const auto v = t.number(r, metric);
    if (!seed || !v) continue;
    const auto it = baseline.find(static_cast<int64_t>(*seed));
    if (it != baseline.end()) differences.push_back(*v - it->second);
  }
  return mean_interval(differences);
}

MeanInterval metric_interval(const TrialRows& t, const RowSet& rows, const std::string& metric) {
  std::vector<double> values;
  for (size_t r : rows) {
    if (const auto v = t.number(r, metric)) values.push_back(*v);
  }
  return mean_interval(values);
}

// A line of the scaling figure: one attn at one sequence length and scale_length.
struct ScalingLine {
  Value patch, scale_length;
  int64_t length = 0, effective_length = 0;
  std::vector<Group> alphas;   // the line's points
  std::optional<size_t> best;  // index into alphas, by the selection metric
  int64_t candidates = 0;      // alphas with the selection metric
};

ScalingLine scaling_line(const TrialRows& t, const TrialSettings& s, const Group& line,
                         const std::string& select) {
  ScalingLine l;
  l.patch = line.key[0];
  l.scale_length = line.key[1];
  l.length = s.sequence_length(line.rows.front());
  l.effective_length = s.effective_length(line.rows.front());
  l.alphas = group_by_settings(s, line.rows, {"alpha"});
  double best_score = -INFINITY;
  for (size_t i = 0; i < l.alphas.size(); ++i) {
    const Summary score = summarize_metric(t, l.alphas[i].rows, select);
    if (score.n == 0) continue;
    ++l.candidates;
    if (score.mean > best_score) l.best = i, best_score = score.mean;
  }
  return l;
}

bool is_fixed(const ScalingLine& l) { return as_number(l.scale_length).value_or(0) > 0; }

// The table row of a line: its best alpha, the metric there, and the paired difference from
// alpha = 1. Columns left out at the end are NULL (the caller pads the row).
std::vector<Value> scaling_row(const TrialRows& t, const ScalingLine& l, const Value& attn,
                               const std::string& select, const std::string& metric) {
  std::vector<Value> row = {attn, l.patch, l.length, l.scale_length};
  if (!l.best) return row;
  const Group& best = l.alphas[*l.best];
  const double alpha = as_number(best.key[0]).value_or(NAN);
  row.push_back(best.key[0]);
  row.push_back(std::pow(static_cast<double>(l.effective_length), -alpha));
  row.push_back(l.candidates);
  const MeanInterval m = metric_interval(t, best.rows, metric);
  row.push_back(m.n);
  if (select != metric) row.push_back(real_or_null(summarize_metric(t, best.rows, select).mean));
  for (double v : {m.mean, m.low, m.high}) row.push_back(real_or_null(v));
  const auto one = std::find_if(l.alphas.begin(), l.alphas.end(),
                                [](const Group& g) { return as_number(g.key[0]) == 1.0; });
  if (one == l.alphas.end()) return row;
  row.push_back(real_or_null(summarize_metric(t, one->rows, metric).mean));
  if (alpha == 1) return row;
  const MeanInterval d = paired_by_seed(t, one->rows, best.rows, metric);
  for (double v : {d.mean, d.low, d.high}) row.push_back(real_or_null(v));
  return row;
}

std::vector<Value> softmax_row(const TrialRows& t, const TrialSettings& s, const Group& g,
                               const std::string& select, const std::string& metric) {
  std::vector<Value> row = {std::string("softmax"),
                            g.key[0],
                            s.sequence_length(g.rows.front()),
                            Value{},
                            Value{},
                            Value{},
                            Value{}};
  const MeanInterval m = metric_interval(t, g.rows, metric);
  row.push_back(m.n);
  if (select != metric) row.push_back(real_or_null(summarize_metric(t, g.rows, select).mean));
  for (double v : {m.mean, m.low, m.high}) row.push_back(real_or_null(v));
  return row;
}

PlotSeries scaling_series(const TrialRows& t, const ScalingLine& l, size_t length_index,
                          size_t dash, const std::string& metric, double scale) {
  PlotSeries series;
  series.label = fmt::format("L={}", l.length);
  if (is_fixed(l)) series.label += fmt::format(", scale_length={}", format_value(l.scale_length));
  series.color = series.marker = static_cast<int>(length_index);
  series.dash = static_cast<int>(dash);
  series.hollow = is_fixed(l);
  for (size_t i = 0; i < l.alphas.size(); ++i) {
    const double alpha = as_number(l.alphas[i].key[0]).value_or(NAN);
    if (std::isnan(alpha)) continue;
    const double c = std::pow(static_cast<double>(l.effective_length), -alpha);
    PlotPoint p = metric_point(t, l.alphas[i].rows, c, metric, scale);
    if (l.best == i && l.candidates >= 2) {  // one alpha alone is not a pick
      p.highlight = true;
      p.label = fmt::format("alpha={}", format_value(l.alphas[i].key[0]));
      // Below for a fixed length, whose pick often lands near the real length's (alpha 2 at
      // 16^-2 beside alpha 1.5 at 49^-1.5): the two labels would overprint each other.
      p.label_below = is_fixed(l);
    }
    series.points.push_back(std::move(p));
  }
  std::sort(series.points.begin(), series.points.end(),
            [](const PlotPoint& a, const PlotPoint& b) { return a.x < b.x; });
  return series;
}

template <typename T>
size_t index_of(const std::vector<T>& values, const T& v) {
  return static_cast<size_t>(std::find(values.begin(), values.end(), v) - values.begin());
}

std::string scaling_caption(const std::string& select, const SeedCounts& seeds) {
  return fmt::format(
      "Accuracy against the constant the point-wise attention weights are multiplied by, "
      "c = L_eff^-alpha (L_eff = scale_length when set, else L, the number of keys), one panel "
      "per h and one line per sequence length through the values of alpha; hollow markers and "
      "dashed lines hold scale_length fixed. If L^-1 is the right scaling, each line peaks at "
      "c = 1/L (alpha = 1) and the peaks move left as L grows; if one constant suits every "
      "length, the peaks line up at one c. Ringed and labelled: the alpha of each line with the "
      "best mean {}. Black horizontal lines: softmax at each L (their dash as the L's line). The "
      "table gives the best alpha per h and L with the accuracy there and its 95% t-interval, "
      "and the seed-paired difference from alpha = 1 with its interval. Each point is the mean "
      "over seeds ({} per point), bars ±1 sample std, faint dots the single seeds.",
      select, seeds.text());
}

}  // namespace

Figure best_figure(const TrialRows& t, const TrialSettings& s, const SelectionSpec& selection) {
  Figure f;
  f.id = "best";
  f.title = fmt::format("Best {} per setting", selection.tune);
  f.table = best_table(t, s, selection);
  RowSet applicable;
  for (size_t r = 0; r < t.size(); ++r) {
    if (s.get(r, selection.tune).applies) applicable.push_back(r);
  }
  if (group_by_settings(s, applicable, {selection.tune}).size() < 2) {
    f.skipped = fmt::format("{} takes fewer than two values in this sweep: nothing to pick",
                            selection.tune);
    return f;
  }
  std::vector<std::string> unused;
  f.caption = fmt::format(
      "For every combination of the other settings, the {} with the best mean {} (what a "
      "researcher tuning {} would pick), and the {} there: mean over the seeds with its 95% "
      "Student t interval.",
      selection.tune, selection_metric(t, t.all(), selection.select_on, unused), selection.tune,
      selection.metric);
  return f;
}

namespace {

// What every panel of the scaling figure is drawn with.
struct ScalingContext {
  const TrialRows& t;
  const TrialSettings& s;
  std::string select, metric;
  double scale;                       // 100 for accuracies
  std::vector<int64_t> length_order;  // the sequence lengths, short first: colour and dash index
};

// Groups in order of sequence length (short first), not of patch size.
std::vector<Group> by_length(const TrialSettings& s, std::vector<Group> groups) {
  std::stable_sort(groups.begin(), groups.end(), [&](const Group& a, const Group& b) {
    return s.sequence_length(a.rows.front()) < s.sequence_length(b.rows.front());
  });
  return groups;
}

// One h: a line per sequence length and scale_length, softmax at each length as a reference;
// the table rows of its lines go to `rows`.
Plot scaling_plot(const ScalingContext& x, const Panel& p, const Group& attn,
                  const std::vector<Group>& references, std::vector<std::vector<Value>>& rows,
                  SeedCounts& seeds) {
  Plot plot;
  plot.title = fmt::format("Scaling, {}{}", format_value(attn.key[0]),
                           p.label.empty() ? "" : " (" + p.label + ")");
  plot.x_label = "c = L_eff^-alpha (log scale)";
  plot.y_label = x.metric == "test_acc" ? "test accuracy (%)"
                 : x.scale == kPercent  ? x.metric + " (%)"
                                        : x.metric;
  plot.log_x = true;
  // scale_length from the config: the results view leaves 0 (L = the number of keys) out.
  const auto lines = by_length(x.s, group_rows(attn.rows, {"patch", "scale_length"},
                                               [&](size_t r, const std::string& key) -> Value {
                                                 if (key == "patch") return x.t.at(r, key);
                                                 return x.s.config(r).scale_length;
                                               }));
  std::vector<int64_t> fixed_lengths;  // scale_length values other than 0: dash 1, 2, ...
  for (const Group& g : lines) {
    const ScalingLine line = scaling_line(x.t, x.s, g, x.select);
    rows.push_back(scaling_row(x.t, line, attn.key[0], x.select, x.metric));
    size_t dash = 0;
    if (is_fixed(line)) {
      const int64_t fixed = static_cast<int64_t>(*as_number(line.scale_length));
      if (index_of(fixed_lengths, fixed) == fixed_lengths.size()) fixed_lengths.push_back(fixed);
      dash = index_of(fixed_lengths, fixed) + 1;
    }
    PlotSeries series =
        scaling_series(x.t, line, index_of(x.length_order, line.length), dash, x.metric, x.scale);
    for (const PlotPoint& pt : series.points) seeds.add(static_cast<int64_t>(pt.samples.size()));
    plot.series.push_back(std::move(series));
  }
  for (const Group& g : references) {
    const int64_t length = x.s.sequence_length(g.rows.front());
    PlotSeries ref = reference_line(fmt::format("softmax, L={}", length), x.t, g.rows, x.metric,
                                    x.scale, static_cast<int>(index_of(x.length_order, length)));
    ref.end_label = fmt::format("softmax L={}", length);
    plot.series.push_back(std::move(ref));
  }
  return plot;
}

std::vector<std::string> scaling_columns(const std::vector<std::string>& panel_keys,
                                         const std::string& select, const std::string& metric) {
  std::vector<std::string> columns = panel_keys;
  for (const char* c : {"attn", "patch", "L", "scale_length", "alpha", "c", "candidates", "n"})
    columns.push_back(c);
  if (select != metric) columns.push_back(select);
  for (const char* suffix : {"", "_ci_low", "_ci_high", "_alpha1"})
    columns.push_back(metric + suffix);
  for (const char* c : {"diff_vs_alpha1", "diff_ci_low", "diff_ci_high"}) columns.push_back(c);
  return columns;
}

}  // namespace

Figure scaling_figure(const TrialRows& t, const TrialSettings& s, const SelectionSpec& selection) {
  Figure f;
  f.id = "scaling";
  f.title = "Scaling: accuracy vs the constant c = L^-alpha";
  check_metric_column(t, selection.metric, "--metric");
  const RowSet pointwise = pointwise_rows(t, t.all());
  std::set<int64_t> lengths;
  for (size_t r : pointwise) lengths.insert(s.sequence_length(r));
  if (lengths.size() < 2 || group_by_settings(s, pointwise, {"alpha"}).size() < 2) {
    f.skipped =
        "needs point-wise attention at two or more sequence lengths (vary patch) and two or more "
        "values of alpha";
    return f;
  }
  const FigureSlice slice =
      slice_for_figure(t, t.all(), {"attn", "alpha", "patch", "scale_length"}, kAblationKeys);
  f.table.notes = t.table().notes;
  f.table.notes.insert(f.table.notes.end(), slice.notes.begin(), slice.notes.end());
  const bool accuracy = selection.metric.ends_with("_acc");
  const ScalingContext x{t,
                         s,
                         selection_metric(t, pointwise, selection.select_on, f.table.notes),
                         selection.metric,
                         accuracy ? kPercent : 1,
                         {lengths.begin(), lengths.end()}};
  f.table.columns = scaling_columns(slice.panel_keys, x.select, x.metric);
  SeedCounts seeds;
  size_t panels = 0;
  for (const Panel& p : slice.panels) {
    std::vector<std::vector<Value>> rows;
    const auto references =
        by_length(s, group_by_settings(s, pointwise_rows(t, p.rows, false), {"patch"}));
    for (const Group& g : references) rows.push_back(softmax_row(t, s, g, x.select, x.metric));
    for (const Group& attn : group_by_settings(s, pointwise_rows(t, p.rows), {"attn"})) {
      Plot plot = scaling_plot(x, p, attn, references, rows, seeds);
      if (f.plots.size() < kMaxScalingPlots) f.plots.push_back(std::move(plot));
      ++panels;
    }
    for (auto& row : rows) {
      row.insert(row.begin(), p.key.begin(), p.key.end());
      row.resize(f.table.columns.size());
      f.table.rows.push_back(std::move(row));
    }
  }
  if (panels > f.plots.size()) {
    f.table.notes.push_back(fmt::format("{} panels: the first {} are drawn, the table has all",
                                        panels, f.plots.size()));
  }
  bool any_fixed = false;
  for (const Plot& plot : f.plots) {
    for (const PlotSeries& series : plot.series) any_fixed = any_fixed || series.hollow;
  }
  finish_plots(
      f.plots,
      plot_footnote(seeds, training_summary(t, t.all()),
                    fmt::format("Ringed: per line, the alpha with the best mean {}.{}", x.select,
                                any_fixed ? " Hollow, dashed: scale_length fixed." : "")));
  f.caption = scaling_caption(x.select, seeds);
  return f;
}

}  // namespace vitsweep::report
