// Pieces the report's figures share: a point with its seeds, the softmax reference line, one
// style per attention function (the same in every figure), and the footnote every plot carries
// (what a point is, what the bars are, how long the trials trained).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "report/svg_plot.hpp"
#include "report/trial_slices.hpp"

namespace vitsweep::report {

// Accuracy is stored as a fraction and drawn in percent.
constexpr double kPercent = 100;

// A point at `x`: the mean of `metric` over `rows` times `scale`, ±1 sample std as its error bar
// and every trial's value as a seed dot.
PlotPoint metric_point(const TrialRows& trials, const RowSet& rows, double x,
                       const std::string& metric, double scale);

// A horizontal reference line (softmax) at the mean of `metric` over `rows`, with a ±std band.
PlotSeries reference_line(const std::string& label, const TrialRows& trials, const RowSet& rows,
                          const std::string& metric, double scale, int dash = 0);

// Colour, marker and dash of an attention function: its place among the point-wise choices
// (relu 0, relu2 1, ..., sigmoid 6; softmax, when drawn as a line, 7), so relu looks the same in
// every figure; no attention (none) is grey like softmax with relu's marker and relu2's dash.
void style_by_attn(PlotSeries& series, const Value& attn);

// Softmax; point-wise attention, which has an alpha (softmax and no attention, attn none, have
// none).
bool is_softmax(const TrialRows& trials, size_t row);
bool has_alpha(const TrialRows& trials, size_t row);

// "2 seeds per point" / "1-3 seeds per point".
struct SeedCounts {
  int64_t min = std::numeric_limits<int64_t>::max(), max = 0;
  void add(int64_t n) {
    if (n > 0) min = std::min(min, n), max = std::max(max, n);
  }
  void add(const Summary& s) { add(s.n); }
  std::string text() const;
};

// How long the trials of `rows` trained: "5 epochs on 20000 training images of fashion-mnist",
// "3-10 epochs on fashion-mnist".
std::string training_summary(const TrialRows& trials, const RowSet& rows);

// "Each point: the mean of 2 seeds (faint dots: the seeds); bars: ±1 sample std. 5 epochs on
// fashion-mnist." plus `extra`.
std::string plot_footnote(const SeedCounts& seeds, const std::string& training,
                          const std::string& extra = "");

// Points of different series with the same label (one model size on the softmax and the relu
// line) would print it twice in one place: the lower point's label goes under it.
void place_labels(Plot& plot);

// Every plot of a figure gets the footnote and the same y range per y label.
void finish_plots(std::vector<Plot>& plots, const std::string& footnote);

}  // namespace vitsweep::report
