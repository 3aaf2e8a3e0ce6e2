// A small SVG plotting module for the report's figures: line and scatter series with error bars,
// horizontal reference lines (with a ±std band), linear or log x axis with nice ticks, a title,
// axis labels and a legend. The legend sits to the right of the plotting area, so it never
// covers data (or below it for small charts). Fonts, sizes and colours are fixed here, so every
// figure reads the same.
//
// Every series is one <g class="series" data-series="I">, holding exactly one
// <polyline class="series-line" data-series="I"> and one <circle class="point" data-series="I">
// per point (none for reference lines); tests count them.
#pragma once

#include <cmath>
#include <string>
#include <vector>

namespace vitsweep::report {

struct PlotPoint {
  double x = 0, y = 0;
  double y_err = NAN;  // half-length of the error bar (std over seeds); NaN: none
  std::string label;   // optional text drawn next to the point (e.g. a model size)
};

struct PlotSeries {
  std::string label;
  std::vector<PlotPoint> points;  // drawn in this order
  int color = -1;                 // palette index; -1: the series' position
  bool dashed = false;            // dashed line, hollow markers
  bool lines = true;              // false: markers only (scatter)
  // A horizontal line at points[0].y across the whole x range, with a band of ±points[0].y_err
  // (softmax as the reference in Fig. 2).
  bool reference = false;
};

struct Plot {
  std::string title;
  std::string x_label, y_label;
  bool log_x = false;
  bool integer_x = false;     // ticks only at whole numbers (epochs)
  bool legend_below = false;  // for small charts; wide legends go below by themselves
  std::vector<PlotSeries> series;
  int width = 760, height = 420;
};

// The SVG document (UTF-8, standalone).
std::string render_svg(const Plot& plot);

// Text made safe for XML character data and attribute values.
std::string xml_escape(const std::string& text);

// The colour of palette index i (colour-blind-safe, distinct on white, cycles after 8).
std::string palette_color(int i);

}  // namespace vitsweep::report
