#include "report/figure_parts.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "config/trial_config.hpp"

namespace vitsweep::report {

namespace {

// Distinct values of `column` over `rows`, in value order.
std::vector<Value> distinct(const TrialRows& t, const RowSet& rows, const std::string& column) {
  std::vector<Value> values;
  if (!t.table().find(column)) return values;
  for (size_t r : rows) {
    const Value& v = t.at(r, column);
    if (std::none_of(values.begin(), values.end(),
                     [&](const Value& w) { return value_equal(v, w); }))
      values.push_back(v);
  }
  std::sort(values.begin(), values.end(), value_less);
  return values;
}

}  // namespace

PlotPoint metric_point(const TrialRows& t, const RowSet& rows, double x, const std::string& metric,
                       double scale) {
  const Summary s = summarize_metric(t, rows, metric);
  PlotPoint p;
  p.x = x;
  p.y = scale * s.mean;
  p.y_err = scale * s.std;
  for (size_t r : rows) {
    if (const auto v = t.number(r, metric)) p.samples.push_back(scale * *v);
  }
  return p;
}

PlotSeries reference_line(const std::string& label, const TrialRows& t, const RowSet& rows,
                          const std::string& metric, double scale, int dash) {
  PlotSeries series;
  series.label = label;
  series.reference = true;
  series.dash = dash;
  const Summary s = summarize_metric(t, rows, metric);
  PlotPoint level;
  level.y = scale * s.mean;
  level.y_err = scale * s.std;
  series.points.push_back(level);
  return series;
}

void style_by_attn(PlotSeries& series, const Value& attn) {
  std::vector<std::string> choices;
  for (const auto& k : config_keys()) {
    if (k.name == "attn") choices = k.choices;
  }
  const std::string name = format_value(attn);
  if (name == "none") {
    // No attention: softmax's grey, but relu's circle and relu2's dots, so it differs from each
    // line it could share a figure with in at least two of the three.
    series.color = 7;
    series.marker = 0;
    series.dash = 2;
    return;
  }
  const auto it = std::find(choices.begin(), choices.end(), name);
  // choices[0] is softmax: point-wise functions count from the next one, softmax comes last.
  const int index = it == choices.end() ? 0 : static_cast<int>(it - choices.begin()) - 1;
  series.color = series.marker = series.dash = index < 0 ? 7 : index;
}

bool is_softmax(const TrialRows& trials, size_t row) {
  return format_value(trials.at(row, "attn")) == "softmax";
}

bool has_alpha(const TrialRows& trials, size_t row) {
  const std::string attn = format_value(trials.at(row, "attn"));
  return attn != "softmax" && attn != "none";
}

std::string SeedCounts::text() const {
  if (max == 0) return "no trials";
  if (min == max) return fmt::format("{} seed{}", max, max == 1 ? "" : "s");
  return fmt::format("{}-{} seeds", min, max);
}

std::string training_summary(const TrialRows& t, const RowSet& rows) {
  const auto epochs = distinct(t, rows, "epochs");
  const auto subsets = distinct(t, rows, "train_subset");
  const auto datasets = distinct(t, rows, "dataset");
  std::string text;
  if (epochs.size() == 1) {
    text = fmt::format("{} epochs", format_value(epochs[0]));
  } else if (!epochs.empty()) {
    text = fmt::format("{}-{} epochs", format_value(epochs.front()), format_value(epochs.back()));
  }
  // train_subset 0 is the whole training set.
  if (subsets.size() == 1 && as_number(subsets[0]).value_or(0) > 0)
    text += fmt::format(" on {} training images", format_value(subsets[0]));
  if (datasets.size() == 1) text += fmt::format(" of {}", format_value(datasets[0]));
  return text;
}

std::string plot_footnote(const SeedCounts& seeds, const std::string& training,
                          const std::string& extra) {
  std::string text = seeds.max == 1
                         ? "Each point: one seed (no error bars)."
                         : fmt::format(
                               "Each point: the mean of {} (faint dots: the single seeds); bars: "
                               "±1 sample std over the seeds.",
                               seeds.text());
  if (!training.empty()) text += fmt::format(" Trained {}.", training);
  if (!extra.empty()) text += " " + extra;
  return text;
}

void place_labels(Plot& plot) {
  std::map<std::string, std::vector<PlotPoint*>> by_label;
  for (PlotSeries& s : plot.series) {
    for (PlotPoint& p : s.points) {
      if (!p.label.empty()) by_label[p.label].push_back(&p);
    }
  }
  for (auto& [label, points] : by_label) {
    const auto top =
        std::max_element(points.begin(), points.end(),
                         [](const PlotPoint* a, const PlotPoint* b) { return a->y < b->y; });
    for (PlotPoint* p : points) p->label_below = p != *top;
  }
}

void finish_plots(std::vector<Plot>& plots, const std::string& footnote) {
  for (Plot& p : plots) p.footnote = footnote;
  share_y_range(plots);
}

}  // namespace vitsweep::report
