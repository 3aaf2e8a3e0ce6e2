#include "report/paper_figures.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "common/error.hpp"
#include "common/text.hpp"
#include "config/trial_config.hpp"
#include "report/figure_parts.hpp"
#include "report/read_only_sql.hpp"
#include "report/selection_figures.hpp"

namespace vitsweep::report {

namespace {

// More panels than this make a page nobody reads; the table still has every row.
constexpr size_t kMaxPanels = 6;
constexpr size_t kMaxCurveLines = 6;
constexpr size_t kMaxCurveCharts = 24;

const std::vector<std::string> kModelKeys = {"width", "depth", "heads", "mlp_dim"};
const std::vector<std::string> kSizeKeys = {"width", "depth", "heads", "mlp_dim", "patch"};
const std::vector<std::string> kAblationKeys = {"qk_norm", "gate"};

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string text(const Value& v) { return format_value(v); }

// The softmax rows, or the point-wise ones (a trial without attention is neither).
RowSet softmax_rows(const TrialRows& t, const RowSet& rows, bool softmax) {
  RowSet out;
  for (size_t r : rows) {
    if (softmax ? is_softmax(t, r) : has_alpha(t, r)) out.push_back(r);
  }
  return out;
}

// softmax's rows for a panel: every softmax trial of the slice that matches the panel on the keys
// softmax has. A panel key softmax lacks (NULL in its rows, as scale_length) matches any value,
// so a panel of the fixed-length arm gets the same reference line as the real-length one.
RowSet softmax_reference(const TrialRows& t, const FigureSlice& slice, const Panel& panel) {
  RowSet out;
  for (const Panel& p : slice.panels) {
    for (size_t r : softmax_rows(t, p.rows, true)) {
      bool matches = true;
      for (size_t k = 0; k < slice.panel_keys.size() && matches; ++k) {
        const Value& v = t.at(r, slice.panel_keys[k]);
        matches = is_null(v) || value_equal(v, panel.key[k]);
      }
      if (matches) out.push_back(r);
    }
  }
  return out;
}

std::string error_bars(const SeedCounts& n) {
  return fmt::format(
      "Each point is the mean over seeds ({} per point) with ±1 sample std as its error bar (none "
      "with one seed); the faint dots are the single seeds.",
      n.text());
}

void start(Figure& f, const TrialRows& t, const FigureSlice& slice) {
  f.table.columns = slice.panel_keys;
  f.table.notes = t.table().notes;
  f.table.notes.insert(f.table.notes.end(), slice.notes.begin(), slice.notes.end());
  if (slice.panels.size() > kMaxPanels) {
    f.table.notes.push_back(fmt::format("{} panels ({}): the first {} are drawn, the table has all",
                                        slice.panels.size(), join(slice.panel_keys), kMaxPanels));
  }
}

std::string panel_title(const std::string& title, const Panel& p) {
  return p.label.empty() ? title : fmt::format("{} ({})", title, p.label);
}

bool drawn(size_t panel_index) { return panel_index < kMaxPanels; }

// Point-wise attentions present in `rows`, in choices order.
std::vector<Value> pointwise_attns(const TrialRows& t, const RowSet& rows) {
  std::vector<Value> attns;
  for (const Group& g : group_by(t, softmax_rows(t, rows, false), {"attn"}))
    attns.push_back(g.key[0]);
  return attns;
}

std::string size_label(const TrialRows& t, size_t r) {
  auto n = [&](const char* key) { return static_cast<int64_t>(t.number(r, key).value_or(0)); };
  for (const ModelPreset& p : model_presets()) {
    if (p.width == n("width") && p.depth == n("depth") && p.heads == n("heads") &&
        p.mlp_dim == n("mlp_dim")) {
      return fmt::format("{}/{}", p.name, n("patch"));
    }
  }
  return fmt::format("w{}-d{}/{}", n("width"), n("depth"), n("patch"));
}

// The index of the point with the highest mean `metric` among `groups` (one per point).
std::optional<size_t> best_point(const TrialRows& t, const std::vector<RowSet>& groups,
                                 const std::string& metric) {
  std::optional<size_t> best;
  double best_mean = -INFINITY;
  for (size_t i = 0; i < groups.size(); ++i) {
    const Summary s = summarize_metric(t, groups[i], metric);
    if (s.n > 0 && s.mean > best_mean) best = i, best_mean = s.mean;
  }
  return best;
}

bool has_validation(const TrialRows& t) {
  for (size_t r = 0; r < t.size(); ++r) {
    if (t.number(r, "val_acc")) return true;
  }
  return false;
}

bool any_reference(const std::vector<Plot>& plots) {
  for (const Plot& p : plots) {
    for (const PlotSeries& s : p.series) {
      if (s.reference) return true;
    }
  }
  return false;
}

}  // namespace

TrialRows load_done_trials(store::Database& db, const TrialFilter& filter) {
  std::vector<Value> parameters;
  const std::string from = results_from_clause(db, filter, parameters);
  return TrialRows(done_trials(read_only_query(
      db,
      fmt::format("SELECT * {} ORDER BY (SELECT id FROM sweeps WHERE sweeps.name = results.sweep), "
                  "position",
                  from),
      parameters, "figures")));
}

namespace {

// "softmax, patch 7" / "relu, alpha=1, patch 4": a line of Fig. 1.
std::string fig1_label(const KeyValues& line, bool name_patch) {
  std::string label = values_label({"attn", "alpha"}, {line[0], line[1]});
  if (name_patch) label += fmt::format(", patch {}", text(line[2]));
  return label;
}

void fig1_row(Figure& f, const TrialRows& t, const Panel& p, const Group& line, const RowSet& size,
              SeedCounts& seeds) {
  const Summary acc = summarize_metric(t, size, "test_acc");
  const Summary core = summarize_metric(t, size, "core_s");
  seeds.add(acc);
  std::vector<Value> row(p.key.begin(), p.key.end());
  row.push_back(size_label(t, size.front()));
  for (const auto& k : kSizeKeys) row.push_back(t.at(size.front(), k));
  row.push_back(line.key[0]);
  row.push_back(line.key[1]);
  row.push_back(acc.n);
  row.push_back(t.at(size.front(), "params"));
  for (const Summary* s : {&acc, &core}) {
    row.push_back(aggregate_value(*s, Aggregate::mean));
    row.push_back(aggregate_value(*s, Aggregate::std));
  }
  f.table.rows.push_back(std::move(row));
}

}  // namespace

Figure figure1(const TrialRows& t) {
  Figure f;
  f.id = "fig1";
  f.title = "Fig. 1: accuracy vs compute across model sizes";
  const FigureSlice slice =
      slice_for_figure(t, t.all(), concat(kSizeKeys, {"attn", "alpha"}), kAblationKeys);
  start(f, t, slice);
  size_t sizes = 0;
  for (const Panel& p : slice.panels)
    sizes = std::max(sizes, group_by(t, p.rows, kSizeKeys).size());
  if (t.size() == 0) {
    f.skipped = "no finished trials";
    return f;
  }
  if (sizes < 2) {
    f.skipped = fmt::format(
        "every trial has the same model size ({}): Fig. 1 needs two or more "
        "(vary model, width, depth or patch)",
        size_label(t, 0));
    return f;
  }
  f.table.columns = concat(f.table.columns, concat({"model"}, kSizeKeys));
  f.table.columns = concat(f.table.columns, {"attn", "alpha", "n", "params", "test_acc",
                                             "test_acc_std", "core_s", "core_s_std"});
  SeedCounts seeds;
  for (size_t pi = 0; pi < slice.panels.size(); ++pi) {
    const Panel& p = slice.panels[pi];
    Plot plot;
    plot.title = panel_title("Fig. 1: accuracy vs compute", p);
    plot.x_label = "CPU core-seconds per trial (log scale)";
    plot.y_label = "test accuracy (%)";
    plot.log_x = true;
    // A line per attention (and alpha) and patch size, through the model sizes: compute grows
    // along a line with the model, between lines with the number of tokens.
    const auto patches = group_by(t, p.rows, {"patch"});
    const bool one_alpha_each =
        group_by(t, p.rows, {"attn"}).size() == group_by(t, p.rows, {"attn", "alpha"}).size();
    const auto lines = group_by(t, p.rows, {"attn", "alpha", "patch"});
    for (size_t li = 0; li < lines.size(); ++li) {
      const Group& line = lines[li];
      PlotSeries series;
      series.label = fig1_label(line.key, patches.size() > 1);
      if (one_alpha_each) {
        style_by_attn(series, line.key[0]);
      } else {
        series.color = series.marker = static_cast<int>(li);
      }
      for (size_t pa = 0; pa < patches.size(); ++pa) {
        if (value_equal(patches[pa].key[0], line.key[2])) series.dash = static_cast<int>(pa);
      }
      series.hollow = series.dash % 2 == 1;
      for (const Group& size : group_by(t, line.rows, kModelKeys)) {
        fig1_row(f, t, p, line, size.rows, seeds);
        const Summary core = summarize_metric(t, size.rows, "core_s");
        PlotPoint pt = metric_point(t, size.rows, core.mean, "test_acc", kPercent);
        if (!std::isfinite(core.mean) || !std::isfinite(pt.y)) continue;
        pt.label = size_label(t, size.rows.front());
        series.points.push_back(pt);
      }
      std::sort(series.points.begin(), series.points.end(),
                [](const PlotPoint& a, const PlotPoint& b) { return a.x < b.x; });
      plot.series.push_back(std::move(series));
    }
    place_labels(plot);
    if (drawn(pi)) f.plots.push_back(std::move(plot));
  }
  finish_plots(f.plots, plot_footnote(seeds, training_summary(t, t.all())));
  f.caption = fmt::format(
      "Final test accuracy against the mean CPU core-seconds a trial took (process CPU time: "
      "training and evaluation), one line per attention and patch size through the model sizes, "
      "every point labelled with its model and patch. {}",
      error_bars(seeds));
  return f;
}

Figure figure2(const TrialRows& t) {
  Figure f;
  f.id = "fig2";
  f.title = "Fig. 2: accuracy vs alpha for each h";
  const FigureSlice slice = slice_for_figure(t, t.all(), {"attn", "alpha"}, kAblationKeys);
  start(f, t, slice);
  bool enough = false;
  for (const Panel& p : slice.panels) {
    for (const Group& g : group_by(t, softmax_rows(t, p.rows, false), {"attn"})) {
      enough = enough || group_by(t, g.rows, {"alpha"}).size() >= 2;
    }
  }
  if (!enough) {
    f.skipped = "no point-wise attention was run at two or more values of alpha";
    return f;
  }
  const std::vector<Value> attns = pointwise_attns(t, t.all());
  const bool any_softmax = !softmax_rows(t, t.all(), true).empty();
  // With a validation split, ring the alpha each h would pick; the test curve shows its price.
  const bool ring = has_validation(t);
  f.table.columns.push_back("alpha");
  for (const Value& a : attns) {
    f.table.columns.push_back(text(a));
    f.table.columns.push_back(text(a) + "_std");
  }
  if (any_softmax) f.table.columns = concat(f.table.columns, {"softmax", "softmax_std"});
  SeedCounts seeds;
  for (size_t pi = 0; pi < slice.panels.size(); ++pi) {
    const Panel& p = slice.panels[pi];
    const RowSet pointwise = softmax_rows(t, p.rows, false);
    const RowSet reference = softmax_reference(t, slice, p);
    const Summary softmax = summarize_metric(t, reference, "test_acc");
    seeds.add(softmax);
    for (const Group& alpha : group_by(t, pointwise, {"alpha"})) {
      std::vector<Value> row(p.key.begin(), p.key.end());
      row.push_back(alpha.key[0]);
      for (const Value& a : attns) {
        const Summary s =
            summarize_metric(t, select_rows(t, alpha.rows, {"attn"}, {a}), "test_acc");
        seeds.add(s);
        row.push_back(aggregate_value(s, Aggregate::mean));
        row.push_back(aggregate_value(s, Aggregate::std));
      }
      if (any_softmax) {
        row.push_back(aggregate_value(softmax, Aggregate::mean));
        row.push_back(aggregate_value(softmax, Aggregate::std));
      }
      f.table.rows.push_back(std::move(row));
    }
    if (!drawn(pi)) continue;
    Plot plot;
    plot.title = panel_title("Fig. 2: test accuracy vs alpha", p);
    plot.x_label = "alpha (point-wise weights scaled by L^-alpha)";
    plot.y_label = "test accuracy (%)";
    for (const Value& attn : attns) {
      PlotSeries series;
      series.label = text(attn);
      style_by_attn(series, attn);
      std::vector<RowSet> groups;
      for (const Group& alpha :
           group_by(t, select_rows(t, pointwise, {"attn"}, {attn}), {"alpha"})) {
        const auto x = as_number(alpha.key[0]);
        if (!x) continue;
        series.points.push_back(metric_point(t, alpha.rows, *x, "test_acc", kPercent));
        groups.push_back(alpha.rows);
      }
      if (ring && groups.size() >= 2) {  // one alpha alone is not a pick
        if (const auto best = best_point(t, groups, "val_acc"))
          series.points[*best].highlight = true;
      }
      if (!series.points.empty()) plot.series.push_back(std::move(series));
    }
    if (softmax.n > 0) {
      plot.series.push_back(
          reference_line("softmax (reference)", t, reference, "test_acc", kPercent));
    }
    f.plots.push_back(std::move(plot));
  }
  finish_plots(f.plots,
               plot_footnote(seeds, training_summary(t, t.all()),
                             ring ? "Ringed: per h, the alpha with the best mean val_acc." : ""));
  f.caption = fmt::format(
      "Final test accuracy against alpha, one line per point-wise function h{}{}. {}",
      any_reference(f.plots)
          ? "; softmax, which has no alpha, is the black horizontal reference line, its band ±1 std"
          : "",
      ring ? "; the ringed point of each line is the alpha with the best mean validation accuracy"
           : "",
      error_bars(seeds));
  return f;
}

namespace {

// Figures 3 and 4 share a shape: an on/off setting (`key`) crossed with attn and alpha.
struct OnOffSeries {
  std::string key;     // qk_norm or gate
  std::string metric;  // test_acc or core_s
  double scale;        // 100 for accuracy
};

void add_on_off_series(Plot& plot, const TrialRows& t, const RowSet& rows, const OnOffSeries& spec,
                       const std::map<std::string, std::string>& legend_suffix, SeedCounts& seeds) {
  const std::vector<Value> attns = pointwise_attns(t, rows);
  const Value off = default_value(spec.key);
  const auto settings = group_by(t, rows, {spec.key});
  for (const Value& attn : attns) {
    for (size_t si = 0; si < settings.size(); ++si) {
      const Group& setting = settings[si];
      PlotSeries series;
      const std::string name = value_label(spec.key, setting.key[0]);
      series.label = fmt::format("{}, {}", text(attn), name);
      if (legend_suffix.count(name)) series.label += legend_suffix.at(name);
      // Colour and marker say h; dash and a hollow marker say the setting is on.
      style_by_attn(series, attn);
      const bool on = !value_equal(setting.key[0], off);
      series.dash = on ? static_cast<int>(std::max<size_t>(si, 1)) : 0;
      series.hollow = on;
      const RowSet mine =
          select_rows(t, softmax_rows(t, rows, false), {"attn", spec.key}, {attn, setting.key[0]});
      for (const Group& alpha : group_by(t, mine, {"alpha"})) {
        const auto x = as_number(alpha.key[0]);
        if (!x) continue;
        series.points.push_back(metric_point(t, alpha.rows, *x, spec.metric, spec.scale));
        seeds.add(static_cast<int64_t>(series.points.back().samples.size()));
      }
      if (!series.points.empty()) plot.series.push_back(std::move(series));
    }
  }
  for (size_t si = 0; si < settings.size(); ++si) {
    const Group& setting = settings[si];
    const RowSet softmax =
        select_rows(t, softmax_rows(t, rows, true), {spec.key}, {setting.key[0]});
    if (softmax.empty()) continue;
    const bool on = !value_equal(setting.key[0], off);
    plot.series.push_back(reference_line(
        fmt::format("softmax, {}", value_label(spec.key, setting.key[0])), t, softmax, spec.metric,
        spec.scale, on ? static_cast<int>(std::max<size_t>(si, 1)) : 0));
  }
}

// Among the trials the key applies to: a trial without attention has no qk_norm or gate.
bool varies_in_a_panel(const TrialRows& t, const FigureSlice& slice, const std::string& key) {
  return std::any_of(slice.panels.begin(), slice.panels.end(), [&](const Panel& p) {
    const auto varying = varying_config_keys(t, p.rows);
    return std::find(varying.begin(), varying.end(), key) != varying.end();
  });
}

// "; softmax as black reference lines (solid: off, dashed: on)" when the plots have any.
std::string softmax_sentence(const std::vector<Plot>& plots, const std::string& key) {
  if (!any_reference(plots)) return "";
  return fmt::format("; softmax as black horizontal reference lines (solid: {} off, dashed: on)",
                     key);
}

}  // namespace

Figure figure3(const TrialRows& t) {
  Figure f;
  f.id = "fig3";
  f.title = "Fig. 3: qk-layernorm on and off";
  const FigureSlice slice =
      slice_for_figure(t, t.all(), {"attn", "alpha", "qk_norm"}, kAblationKeys);
  start(f, t, slice);
  if (!varies_in_a_panel(t, slice, "qk_norm")) {
    f.skipped = "qk_norm does not vary in this sweep (add \"qk_norm\": [false, true] to its grid)";
    return f;
  }
  f.table.columns = concat(f.table.columns, {"attn", "alpha", "qk_norm_off", "qk_norm_off_std",
                                             "qk_norm_on", "qk_norm_on_std"});
  SeedCounts seeds;
  for (size_t pi = 0; pi < slice.panels.size(); ++pi) {
    const Panel& p = slice.panels[pi];
    for (const Group& g : group_by(t, p.rows, {"attn", "alpha"})) {
      std::vector<Value> row(p.key.begin(), p.key.end());
      row.insert(row.end(), g.key.begin(), g.key.end());
      for (int64_t on : {0, 1}) {
        const Summary s =
            summarize_metric(t, select_rows(t, g.rows, {"qk_norm"}, {on}), "test_acc");
        seeds.add(s);
        row.push_back(aggregate_value(s, Aggregate::mean));
        row.push_back(aggregate_value(s, Aggregate::std));
      }
      f.table.rows.push_back(std::move(row));
    }
    if (!drawn(pi)) continue;
    Plot plot;
    plot.title = panel_title("Fig. 3: qk-layernorm on/off", p);
    plot.x_label = "alpha (point-wise weights scaled by L^-alpha)";
    plot.y_label = "test accuracy (%)";
    add_on_off_series(plot, t, p.rows, {"qk_norm", "test_acc", kPercent}, {}, seeds);
    f.plots.push_back(std::move(plot));
  }
  finish_plots(f.plots, plot_footnote(seeds, training_summary(t, t.all())));
  f.caption = fmt::format(
      "Final test accuracy against alpha with qk-layernorm off (solid line, filled marker) and on "
      "(dashed, hollow), one colour and marker per point-wise h{}. {}",
      softmax_sentence(f.plots, "qk_norm"), error_bars(seeds));
  return f;
}

Figure figure4(const TrialRows& t) {
  Figure f;
  f.id = "fig4";
  f.title = "Fig. 4: attention gate on and off, and what it costs";
  const FigureSlice slice = slice_for_figure(t, t.all(), {"attn", "alpha", "gate"}, kAblationKeys);
  start(f, t, slice);
  if (!varies_in_a_panel(t, slice, "gate")) {
    f.skipped = "gate does not vary in this sweep (add \"gate\": [\"none\", \"silu\"] to its grid)";
    return f;
  }
  f.table.columns =
      concat(f.table.columns, {"attn", "alpha", "gate", "n", "test_acc", "test_acc_std", "core_s",
                               "core_s_std", "core_s_overhead"});
  const Value none = default_value("gate");
  // Per gate: core-seconds of gated trials and of their ungated counterparts, pooled over every
  // setting that has both.
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> pairs;
  auto core_values = [&](const RowSet& rows) {
    std::vector<double> v;
    for (size_t r : rows) {
      if (const auto c = t.number(r, "core_s")) v.push_back(*c);
    }
    return v;
  };
  SeedCounts seeds;
  for (const Panel& p : slice.panels) {
    for (const Group& g : group_by(t, p.rows, {"attn", "alpha", "gate"})) {
      const Summary acc = summarize_metric(t, g.rows, "test_acc");
      const Summary core = summarize_metric(t, g.rows, "core_s");
      seeds.add(acc);
      std::vector<Value> row(p.key.begin(), p.key.end());
      row.insert(row.end(), g.key.begin(), g.key.end());
      row.push_back(acc.n);
      for (const Summary* s : {&acc, &core}) {
        row.push_back(aggregate_value(*s, Aggregate::mean));
        row.push_back(aggregate_value(*s, Aggregate::std));
      }
      Value overhead;
      if (!value_equal(g.key[2], none)) {
        const RowSet base =
            select_rows(t, p.rows, {"attn", "alpha", "gate"}, {g.key[0], g.key[1], none});
        const Summary base_core = summarize_metric(t, base, "core_s");
        if (base_core.mean > 0 && std::isfinite(core.mean)) {
          overhead = core.mean / base_core.mean - 1;
          auto& [gated, ungated] = pairs[text(g.key[2])];
          for (double v : core_values(g.rows)) gated.push_back(v);
          for (double v : core_values(base)) ungated.push_back(v);
        }
      }
      row.push_back(overhead);
      f.table.rows.push_back(std::move(row));
    }
  }
  std::map<std::string, std::string> legend_suffix;
  std::string overheads;
  for (const auto& [gate, values] : pairs) {
    const double ratio = summarize(values.first).mean / summarize(values.second).mean;
    const std::string percent = fmt::format("{:+.1f}%", 100 * (ratio - 1));
    legend_suffix[value_label("gate", std::string(gate))] = fmt::format(" ({})", percent);
    f.table.notes.push_back(fmt::format(
        "gate {}: {} CPU core-seconds per trial against gate none ({} gated and {} ungated trials "
        "with otherwise equal settings)",
        gate, percent, values.first.size(), values.second.size()));
    overheads += fmt::format("{}gate {}: {}", overheads.empty() ? "" : ", ", gate, percent);
  }
  std::vector<Plot> accuracy_plots, compute_plots;
  SeedCounts drawn_seeds;
  for (size_t pi = 0; pi < std::min(slice.panels.size(), kMaxPanels); ++pi) {
    const Panel& p = slice.panels[pi];
    Plot accuracy;
    accuracy.title = panel_title("Fig. 4: gate on/off", p);
    accuracy.x_label = "alpha (point-wise weights scaled by L^-alpha)";
    accuracy.y_label = "test accuracy (%)";
    add_on_off_series(accuracy, t, p.rows, {"gate", "test_acc", kPercent}, legend_suffix,
                      drawn_seeds);
    f.plots.push_back(std::move(accuracy));
    Plot compute;
    compute.title = panel_title(overheads.empty()
                                    ? "Fig. 4b: core-seconds per trial, as run"
                                    : "Fig. 4b: core-seconds per trial, as run (" + overheads + ")",
                                p);
    compute.x_label = "alpha (point-wise weights scaled by L^-alpha)";
    compute.y_label = "CPU core-seconds per trial";
    add_on_off_series(compute, t, p.rows, {"gate", "core_s", 1}, legend_suffix, drawn_seeds);
    f.plots.push_back(std::move(compute));
  }
  finish_plots(f.plots, plot_footnote(seeds, training_summary(t, t.all())));
  f.caption = fmt::format(
      "Final test accuracy (top) and CPU core-seconds per trial (bottom) against alpha, without a "
      "gate (solid line, filled marker) and with one (dashed, hollow){}. The percentage is the "
      "mean core-seconds of gated trials over that of their ungated counterparts (same attn, "
      "alpha and every other setting), minus one{}. It is the gate's cost per image only if the "
      "trials compared ran under the same load, e.g. side by side in one sweep run; trials shared "
      "with another sweep ran under that sweep's load. A cost to quote is timed with the two "
      "alternating on an idle machine. {}",
      softmax_sentence(f.plots, "gate"), overheads.empty() ? "" : " (" + overheads + ")",
      error_bars(seeds));
  return f;
}

Figure training_curves(store::Database& db, const TrialFilter& filter, const TrialRows& t) {
  Figure f;
  f.id = "curves";
  f.title = "Training curves: test accuracy per epoch";
  f.table.notes = t.table().notes;
  if (t.size() == 0) {
    f.skipped = "no finished trials";
    return f;
  }
  std::vector<Value> parameters;
  const std::string from = results_from_clause(db, filter, parameters);
  const ValueTable epochs = read_only_query(
      db,
      fmt::format("SELECT trial, epoch, test_acc FROM epochs WHERE trial IN (SELECT trial {}) "
                  "ORDER BY trial, epoch",
                  from),
      parameters, "training curves");
  std::map<std::string, std::vector<std::pair<int64_t, double>>> curves;
  for (const auto& row : epochs.rows) {
    const auto epoch = as_number(row[1]);
    const auto acc = as_number(row[2]);
    if (epoch && acc) curves[text(row[0])].emplace_back(static_cast<int64_t>(*epoch), *acc);
  }
  if (curves.empty()) {
    f.skipped = "no per-epoch metrics are stored for these trials";
    return f;
  }
  const auto keys = varying_config_keys(t, t.all());
  // Split charts by the fewest leading keys that leave at most kMaxCurveLines lines per chart.
  size_t split = 0;
  while (split < keys.size()) {
    const std::vector<std::string> chart_keys(keys.begin(),
                                              keys.begin() + static_cast<long>(split));
    const std::vector<std::string> line_keys(keys.begin() + static_cast<long>(split), keys.end());
    bool fits = true;
    for (const Group& chart : group_by(t, t.all(), chart_keys)) {
      fits = fits && group_by(t, chart.rows, line_keys).size() <= kMaxCurveLines;
    }
    if (fits) break;
    ++split;
  }
  const std::vector<std::string> chart_keys(keys.begin(), keys.begin() + static_cast<long>(split));
  const std::vector<std::string> line_keys(keys.begin() + static_cast<long>(split), keys.end());
  f.table.columns = concat(keys, {"epoch", "n", "test_acc", "test_acc_std"});
  SeedCounts seeds;
  const auto charts = group_by(t, t.all(), chart_keys);
  if (charts.size() > kMaxCurveCharts) {
    f.table.notes.push_back(fmt::format("{} charts: the first {} are drawn, the table has all",
                                        charts.size(), kMaxCurveCharts));
  }
  for (size_t ci = 0; ci < charts.size(); ++ci) {
    const Group& chart = charts[ci];
    Plot plot;
    const std::string label = values_label(chart_keys, chart.key);
    plot.title = label.empty() ? "Test accuracy per epoch" : "Test accuracy per epoch: " + label;
    plot.x_label = "epoch";
    plot.y_label = "test accuracy (%)";
    plot.integer_x = true;
    plot.width = 600;
    plot.height = 340;
    plot.legend_below = true;
    for (const Group& line : group_by(t, chart.rows, line_keys)) {
      PlotSeries series;
      series.label = values_label(line_keys, line.key);
      if (series.label.empty()) series.label = "all trials";
      std::map<int64_t, std::vector<double>> by_epoch;
      for (size_t r : line.rows) {
        const auto it = curves.find(text(t.at(r, "trial")));
        if (it == curves.end()) continue;
        for (const auto& [epoch, acc] : it->second) by_epoch[epoch].push_back(acc);
      }
      for (const auto& [epoch, values] : by_epoch) {
        const Summary s = summarize(values);
        seeds.add(s);
        std::vector<Value> row(chart.key.begin(), chart.key.end());
        row.insert(row.end(), line.key.begin(), line.key.end());
        row.push_back(epoch);
        row.push_back(s.n);
        row.push_back(aggregate_value(s, Aggregate::mean));
        row.push_back(aggregate_value(s, Aggregate::std));
        f.table.rows.push_back(std::move(row));
        PlotPoint pt;
        pt.x = static_cast<double>(epoch);
        pt.y = kPercent * s.mean;
        pt.y_err = kPercent * s.std;
        for (double v : values) pt.samples.push_back(kPercent * v);
        series.points.push_back(std::move(pt));
      }
      plot.series.push_back(std::move(series));
    }
    if (ci < kMaxCurveCharts) f.plots.push_back(std::move(plot));
  }
  finish_plots(f.plots, plot_footnote(seeds, training_summary(t, t.all())));
  f.caption = fmt::format(
      "Test accuracy after each epoch (epochs view), one line per group of trials that differ only "
      "in seed{}. {}",
      chart_keys.empty() ? "" : fmt::format("; one chart per {}", join(chart_keys)),
      error_bars(seeds));
  return f;
}

namespace {

// Why the report leaves out a figure whose table the sweep can fill but which it was not designed
// for (its table is still exported on request): Fig. 1 is about model sizes, and a patch size
// alone changes the sequence length (the scaling figure's question); the alpha curves of a sweep
// that varies qk_norm or gate are Fig. 3's or Fig. 4's, which draw them both ways.
std::string not_designed_for(const Figure& f, const TrialRows& t) {
  const auto varying = varying_config_keys(t, t.all());
  auto varies = [&](const std::string& key) {
    return std::find(varying.begin(), varying.end(), key) != varying.end();
  };
  if (f.id == "fig1" && std::none_of(kModelKeys.begin(), kModelKeys.end(), varies)) {
    return "the sweep varies the patch size but not the model (width, depth, heads, mlp_dim); "
           "Fig. 1 is accuracy against compute across model sizes";
  }
  if (f.id == "fig2" && varies("qk_norm")) {
    return "the sweep varies qk_norm: its accuracy-vs-alpha curves are in Fig. 3, with "
           "qk-layernorm off and on";
  }
  if (f.id == "fig2" && varies("gate")) {
    return "the sweep varies gate: its accuracy-vs-alpha curves are in Fig. 4, with the gate off "
           "and on";
  }
  return "";
}

// The figures that need full configs (sequence lengths, which keys apply): skipped with the
// reason when the stored configs cannot be read.
std::vector<Figure> settings_figures(store::Database& db, const TrialRows& trials,
                                     const SelectionSpec& selection) {
  try {
    const TrialSettings settings(db, trials);
    return {scaling_figure(trials, settings, selection), best_figure(trials, settings, selection)};
  } catch (const Error& e) {
    Figure scaling{"scaling", "Scaling", "", e.what(), {}, {}};
    Figure best{"best", "Best alpha", "", e.what(), {}, {}};
    return {scaling, best};
  }
}

}  // namespace

Figure paper_figure(store::Database& db, const TrialFilter& filter, std::string_view id,
                    const SelectionSpec& selection) {
  const std::vector<std::string> ids = {"fig1", "fig2", "fig3", "fig4", "scaling", "best"};
  if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
    fail_usage("--table: unknown table '{}' (expected {})", id, join(ids));
  }
  const TrialRows trials = load_done_trials(db, filter);
  if (id == "fig1") return figure1(trials);
  if (id == "fig2") return figure2(trials);
  if (id == "fig3") return figure3(trials);
  if (id == "fig4") return figure4(trials);
  const TrialSettings settings(db, trials);
  if (id == "scaling") return scaling_figure(trials, settings, selection);
  return best_figure(trials, settings, selection);
}

std::vector<Figure> all_figures(store::Database& db, const TrialFilter& filter) {
  const TrialRows trials = load_done_trials(db, filter);
  std::vector<Figure> selection = settings_figures(db, trials, {});
  std::vector<Figure> figures = {figure1(trials),
                                 figure2(trials),
                                 std::move(selection[0]),
                                 figure3(trials),
                                 figure4(trials),
                                 std::move(selection[1]),
                                 training_curves(db, filter, trials)};
  for (Figure& f : figures) {
    if (!f.skipped.empty()) continue;
    f.skipped = not_designed_for(f, trials);
    if (!f.skipped.empty()) f.plots.clear();
  }
  return figures;
}

}  // namespace vitsweep::report
