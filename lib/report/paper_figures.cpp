#include "report/paper_figures.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "common/error.hpp"
#include "common/text.hpp"
#include "config/trial_config.hpp"
#include "report/read_only_sql.hpp"

namespace vitsweep::report {

namespace {

// More panels than this make a page nobody reads; the table still has every row.
constexpr size_t kMaxPanels = 6;
constexpr size_t kMaxCurveLines = 6;
constexpr size_t kMaxCurveCharts = 24;
constexpr int kReferenceColor = 6;  // black: softmax, the reference the others are judged by

const std::vector<std::string> kSizeKeys = {"width", "depth", "heads", "mlp_dim", "patch"};
const std::vector<std::string> kAblationKeys = {"qk_norm", "gate"};

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string text(const Value& v) {
  return format_value(v);
}

bool is_softmax(const TrialRows& t, size_t r) {
  return text(t.at(r, "attn")) == "softmax";
}

RowSet softmax_rows(const TrialRows& t, const RowSet& rows, bool softmax) {
  RowSet out;
  for (size_t r : rows) {
    if (is_softmax(t, r) == softmax) out.push_back(r);
  }
  return out;
}

PlotPoint point(double x, const Summary& s, double scale = 1) {
  return {x, scale * s.mean, scale * s.std, ""};
}

// Accuracy is stored as a fraction and drawn in percent.
constexpr double kPercent = 100;

// "2 seeds per point" / "1-3 seeds per point".
struct SeedCounts {
  int64_t min = std::numeric_limits<int64_t>::max(), max = 0;
  void add(const Summary& s) {
    if (s.n > 0) min = std::min(min, s.n), max = std::max(max, s.n);
  }
  std::string text() const {
    if (max == 0) return "no trials";
    if (min == max) return fmt::format("{} seed{} per point", max, max == 1 ? "" : "s");
    return fmt::format("{}-{} seeds per point", min, max);
  }
};

std::string error_bars(const SeedCounts& n) {
  return fmt::format("Mean over seeds, error bars ±1 sample std ({}; none with one seed).",
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

bool drawn(size_t panel_index) {
  return panel_index < kMaxPanels;
}

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

// Softmax as a horizontal reference line with a ±std band.
PlotSeries reference(const std::string& label, const Summary& s, bool dashed, double scale) {
  PlotSeries series;
  series.label = label;
  series.reference = true;
  series.color = kReferenceColor;
  series.dashed = dashed;
  series.points.push_back(point(0, s, scale));
  return series;
}

}  // namespace

TrialRows load_done_trials(store::Database& db, const TrialFilter& filter) {
  std::vector<Value> parameters;
  const std::string from = results_from_clause(db, filter, parameters);
  ValueTable all = read_only_query(
      db,
      fmt::format("SELECT * {} ORDER BY (SELECT id FROM sweeps WHERE sweeps.name = results.sweep), "
                  "position",
                  from),
      parameters, "figures");
  ValueTable done;
  done.columns = all.columns;
  const size_t status = all.index("status"), trial = all.index("trial");
  std::set<std::string> seen;  // a trial linked into several sweeps counts once
  int64_t left_out = 0;
  for (auto& row : all.rows) {
    if (!seen.insert(text(row[trial])).second) continue;
    if (text(row[status]) != "done")
      ++left_out;
    else
      done.rows.push_back(std::move(row));
  }
  if (left_out > 0) {
    done.notes.push_back(fmt::format(
        "{} trial(s) not done (queued, running, failed, diverged or killed) are left out",
        left_out));
  }
  return TrialRows(std::move(done));
}

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
    const auto lines = group_by(t, p.rows, {"attn", "alpha"});
    for (const Group& line : lines) {
      PlotSeries series;
      series.label = is_null(line.key[1])
                         ? text(line.key[0])
                         : fmt::format("{}, alpha={}", text(line.key[0]), text(line.key[1]));
      if (text(line.key[0]) == "softmax") series.color = kReferenceColor;
      for (const Group& size : group_by(t, line.rows, kSizeKeys)) {
        const Summary acc = summarize_metric(t, size.rows, "test_acc");
        const Summary core = summarize_metric(t, size.rows, "core_s");
        seeds.add(acc);
        std::vector<Value> row(p.key.begin(), p.key.end());
        row.push_back(size_label(t, size.rows.front()));
        row.insert(row.end(), size.key.begin(), size.key.end());
        row.insert(row.end(), line.key.begin(), line.key.end());
        row.push_back(acc.n);
        row.push_back(t.at(size.rows.front(), "params"));
        for (const Summary* s : {&acc, &core}) {
          row.push_back(aggregate_value(*s, Aggregate::mean));
          row.push_back(aggregate_value(*s, Aggregate::std));
        }
        f.table.rows.push_back(std::move(row));
        if (std::isfinite(core.mean) && std::isfinite(acc.mean)) {
          PlotPoint pt = point(core.mean, acc, kPercent);
          // Name the sizes once (on the first line) so labels do not pile up.
          if (&line == &lines.front()) pt.label = size_label(t, size.rows.front());
          series.points.push_back(pt);
        }
      }
      std::sort(series.points.begin(), series.points.end(),
                [](const PlotPoint& a, const PlotPoint& b) { return a.x < b.x; });
      plot.series.push_back(std::move(series));
    }
    if (drawn(pi)) f.plots.push_back(std::move(plot));
  }
  f.caption = fmt::format(
      "Final test accuracy against the mean CPU core-seconds a trial took (process CPU time: "
      "training and evaluation), one line per attention through the model sizes (labelled on the "
      "first line). {}",
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
    const Summary softmax = summarize_metric(t, softmax_rows(t, p.rows, true), "test_acc");
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
    for (size_t ai = 0; ai < attns.size(); ++ai) {
      PlotSeries series;
      series.label = text(attns[ai]);
      series.color = static_cast<int>(ai);
      for (const Group& alpha :
           group_by(t, select_rows(t, pointwise, {"attn"}, {attns[ai]}), {"alpha"})) {
        const auto x = as_number(alpha.key[0]);
        if (x)
          series.points.push_back(point(*x, summarize_metric(t, alpha.rows, "test_acc"), kPercent));
      }
      if (!series.points.empty()) plot.series.push_back(std::move(series));
    }
    if (softmax.n > 0)
      plot.series.push_back(reference("softmax (reference)", softmax, false, kPercent));
    f.plots.push_back(std::move(plot));
  }
  f.caption = fmt::format(
      "Final test accuracy against alpha, one line per point-wise function h; softmax (which has "
      "no alpha) is the horizontal reference line, its band ±1 std. {}",
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
                       const std::map<std::string, std::string>& legend_suffix) {
  const std::vector<Value> attns = pointwise_attns(t, rows);
  const Value off = default_value(spec.key);
  const auto settings = group_by(t, rows, {spec.key});
  for (size_t ai = 0; ai < attns.size(); ++ai) {
    for (const Group& setting : settings) {
      PlotSeries series;
      const std::string name = value_label(spec.key, setting.key[0]);
      series.label = fmt::format("{}, {}", text(attns[ai]), name);
      if (legend_suffix.count(name)) series.label += legend_suffix.at(name);
      series.color = static_cast<int>(ai);
      series.dashed = !value_equal(setting.key[0], off);
      const RowSet mine = select_rows(t, softmax_rows(t, rows, false), {"attn", spec.key},
                                      {attns[ai], setting.key[0]});
      for (const Group& alpha : group_by(t, mine, {"alpha"})) {
        const auto x = as_number(alpha.key[0]);
        if (x)
          series.points.push_back(
              point(*x, summarize_metric(t, alpha.rows, spec.metric), spec.scale));
      }
      if (!series.points.empty()) plot.series.push_back(std::move(series));
    }
  }
  for (const Group& setting : settings) {
    const Summary s = summarize_metric(
        t, select_rows(t, softmax_rows(t, rows, true), {spec.key}, {setting.key[0]}), spec.metric);
    if (s.n > 0) {
      plot.series.push_back(
          reference(fmt::format("softmax, {}", value_label(spec.key, setting.key[0])), s,
                    !value_equal(setting.key[0], off), spec.scale));
    }
  }
}

bool varies_in_a_panel(const TrialRows& t, const FigureSlice& slice, const std::string& key) {
  return std::any_of(slice.panels.begin(), slice.panels.end(),
                     [&](const Panel& p) { return group_by(t, p.rows, {key}).size() >= 2; });
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
    add_on_off_series(plot, t, p.rows, {"qk_norm", "test_acc", kPercent}, {});
    f.plots.push_back(std::move(plot));
  }
  f.caption = fmt::format(
      "Final test accuracy against alpha with qk-layernorm off (solid) and on (dashed), one colour "
      "per point-wise h; softmax as black reference lines. {}",
      error_bars(seeds));
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
  for (size_t pi = 0; pi < std::min(slice.panels.size(), kMaxPanels); ++pi) {
    const Panel& p = slice.panels[pi];
    Plot accuracy;
    accuracy.title = panel_title("Fig. 4: gate on/off", p);
    accuracy.x_label = "alpha (point-wise weights scaled by L^-alpha)";
    accuracy.y_label = "test accuracy (%)";
    add_on_off_series(accuracy, t, p.rows, {"gate", "test_acc", kPercent}, legend_suffix);
    f.plots.push_back(std::move(accuracy));
    Plot compute;
    compute.title =
        panel_title(overheads.empty() ? "Fig. 4b: compute per trial"
                                      : "Fig. 4b: compute per trial (" + overheads + ")",
                    p);
    compute.x_label = "alpha (point-wise weights scaled by L^-alpha)";
    compute.y_label = "CPU core-seconds per trial";
    add_on_off_series(compute, t, p.rows, {"gate", "core_s", 1}, legend_suffix);
    f.plots.push_back(std::move(compute));
  }
  f.caption = fmt::format(
      "Final test accuracy (top) and CPU core-seconds per trial (bottom) against alpha, without a "
      "gate (solid) and with one (dashed). The gate's overhead is the mean core-seconds of gated "
      "trials over that of their ungated counterparts (same attn, alpha and every other setting), "
      "minus one; the trials compared train the same images for the same steps, so this is also "
      "the overhead per image{}. {}",
      overheads.empty() ? "" : " (" + overheads + ")", error_bars(seeds));
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
        series.points.push_back(point(static_cast<double>(epoch), s, kPercent));
      }
      plot.series.push_back(std::move(series));
    }
    if (ci < kMaxCurveCharts) f.plots.push_back(std::move(plot));
  }
  f.caption = fmt::format(
      "Test accuracy after each epoch (epochs view), one line per group of trials that differ only "
      "in seed{}. {}",
      chart_keys.empty() ? "" : fmt::format("; one chart per {}", join(chart_keys)),
      error_bars(seeds));
  return f;
}

Figure paper_figure(store::Database& db, const TrialFilter& filter, std::string_view id) {
  if (id != "fig1" && id != "fig2" && id != "fig3" && id != "fig4") {
    fail_usage("--table: unknown table '{}' (expected fig1, fig2, fig3 or fig4)", id);
  }
  const TrialRows trials = load_done_trials(db, filter);
  if (id == "fig1") return figure1(trials);
  if (id == "fig2") return figure2(trials);
  if (id == "fig3") return figure3(trials);
  return figure4(trials);
}

std::vector<Figure> all_figures(store::Database& db, const TrialFilter& filter) {
  const TrialRows trials = load_done_trials(db, filter);
  return {figure1(trials), figure2(trials), figure3(trials), figure4(trials),
          training_curves(db, filter, trials)};
}

}  // namespace vitsweep::report
