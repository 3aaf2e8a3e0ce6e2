// A small SVG plotting module for the report's figures: line and scatter series with error bars,
// each seed as a faint dot, horizontal reference lines (with a ±std band), linear or log x axis
// with nice ticks, a title, axis labels, a legend and a footnote. The legend sits to the right of
// the plotting area, so it never covers data (or below it for small charts). Fonts, sizes and
// colours are fixed here, so every figure reads the same.
//
// Legible in greyscale: every series has a marker shape and a dash pattern besides its colour
// (by default the series' position picks all three), and reference lines are black, thicker and
// carry no markers.
//
// Every series is one <g class="series" data-series="I">, holding exactly one
// <polyline class="series-line" data-series="I"> and one marker with class "point" and
// data-series="I" per point (a circle, rect, polygon or path; none for reference lines), and one
// <circle class="sample"> per seed value; tests count them.
#pragma once

#include <cmath>
#include <string>
#include <vector>

namespace vitsweep::report {

struct PlotPoint {
  double x = 0, y = 0;
  double y_err = NAN;           // half-length of the error bar (std over seeds); NaN: none
  std::string label;            // optional text drawn next to the point (e.g. a model size)
  bool label_below = false;     // under the point rather than above it
  std::vector<double> samples;  // the single seeds' values, drawn as faint dots
  bool highlight = false;       // ringed: the setting picked by model selection
};

struct PlotSeries {
  std::string label;
  std::vector<PlotPoint> points;  // drawn in this order
  int color = -1;                 // palette index; -1: the series' position
  int marker = -1;                // marker shape index (kMarkerShapes); -1: the series' position
  int dash = -1;                  // dash pattern index, 0 solid; -1: the series' position
  bool hollow = false;            // markers filled white
  bool lines = true;              // false: markers only (scatter)
  // A horizontal line at points[0].y across the whole x range, with a band of ±points[0].y_err
  // (softmax as the reference in Fig. 2). Black; dash -1 means solid.
  bool reference = false;
  // Where reference labels are written at the line's right end (empty: legend only).
  std::string end_label;
};

struct Plot {
  std::string title;
  std::string x_label, y_label;
  bool log_x = false;
  bool integer_x = false;     // ticks only at whole numbers (epochs)
  bool legend_below = false;  // for small charts; wide legends go below by themselves
  std::vector<PlotSeries> series;
  int width = 760, height = 420;
  double y_min = NAN,
         y_max = NAN;    // a fixed y range (shared by a figure's panels); NaN: the data's
  std::string footnote;  // under the plot: seeds, epochs, what the error bars are
};

// Marker shapes and dash patterns there are; indices beyond wrap around.
constexpr int kMarkerShapes = 8;
constexpr int kDashPatterns = 8;

// The SVG document (UTF-8, standalone).
std::string render_svg(const Plot& plot);

// Gives every plot of `plots` that has the same y label the same y range: the range of all their
// data (error bars and seed dots included), so panels compare at a glance.
void share_y_range(std::vector<Plot>& plots);

// Text made safe for XML character data and attribute values.
std::string xml_escape(const std::string& text);

// The colour of palette index i (colour-blind-safe, distinct on white, no black: black is for
// reference lines; cycles after 8).
std::string palette_color(int i);

// The stroke-dasharray of dash pattern i ("" for solid).
std::string dash_pattern(int i);

}  // namespace vitsweep::report
