// The SVG plotting module: well-formed output with one polyline per series and one marker per
// point, series told apart without colour (marker and dash), seeds as dots, a footnote, one y
// range across panels, escaped labels, log axes, and tick values a reader takes in at a glance.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cctype>
#include <set>
#include <sstream>

#include "report/axis_ticks.hpp"
#include "report/svg_plot.hpp"
#include "report/xml_check.hpp"

namespace vitsweep::report {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

PlotPoint point(double x, double y, double y_err) {
  PlotPoint p;
  p.x = x;
  p.y = y;
  p.y_err = y_err;
  return p;
}

PlotSeries softmax_reference(double y, double y_err) {
  PlotSeries softmax;
  softmax.label = "softmax (reference)";
  softmax.reference = true;
  softmax.points.push_back(point(0, y, y_err));
  return softmax;
}

Plot three_series(bool log_x) {
  Plot plot;
  plot.title = "accuracy <vs> alpha & friends";
  plot.x_label = "alpha";
  plot.y_label = "test accuracy (%)";
  plot.log_x = log_x;
  for (int s = 0; s < 2; ++s) {
    PlotSeries series;
    series.label = s == 0 ? "relu" : "gelu \"quoted\"";
    for (int i = 1; i <= 4; ++i) series.points.push_back(point(0.5 * i, 30.0 + i + s, 1.5));
    plot.series.push_back(series);
  }
  plot.series.push_back(softmax_reference(33, 0.8));
  return plot;
}

TEST(SvgPlot, OneLinePerSeriesOneMarkerPerPointAndWellFormed) {
  for (bool log_x : {false, true}) {
    const std::string svg = render_svg(three_series(log_x));
    std::vector<testing::XmlElement> elements;
    ASSERT_EQ(testing::check_xml(svg, &elements), "") << svg;
    size_t lines = 0, points = 0, error_bars = 0, groups = 0;
    for (const auto& e : elements) {
      lines += e.name == "polyline" && e.attribute("class") == "series-line";
      points += e.attribute("class") == "point";
      error_bars += e.attribute("class") == "error-bar";
      groups += e.name == "g" && e.attribute("data-series") != "";
    }
    EXPECT_EQ(groups, 3u);
    EXPECT_EQ(lines, 3u);   // two lines and the reference
    EXPECT_EQ(points, 8u);  // the reference has no markers
    EXPECT_EQ(error_bars, 8u);
    EXPECT_THAT(svg, HasSubstr("accuracy &lt;vs&gt; alpha &amp; friends"));
    EXPECT_THAT(svg, HasSubstr("gelu &quot;quoted&quot;"));
  }
}

TEST(SvgPlot, EveryPointIsInsideTheSvg) {
  const std::string svg = render_svg(three_series(false));
  std::vector<testing::XmlElement> elements;
  ASSERT_EQ(testing::check_xml(svg, &elements), "");
  const double width = std::stod(elements.front().attribute("width"));
  const double height = std::stod(elements.front().attribute("height"));
  for (const auto& e : elements) {
    if (e.name != "circle") continue;
    EXPECT_GT(std::stod(e.attribute("cx")), 0);
    EXPECT_LT(std::stod(e.attribute("cx")), width);
    EXPECT_GT(std::stod(e.attribute("cy")), 0);
    EXPECT_LT(std::stod(e.attribute("cy")), height);
  }
}

// What a marker looks like without its colour: the element, and for polygons the number of
// corners and which way the first one points; for paths the drawing commands.
std::string marker_shape(const testing::XmlElement& e) {
  if (e.name == "polygon") {
    std::vector<double> ys;
    std::istringstream points(e.attribute("points"));
    std::string xy;
    while (points >> xy) ys.push_back(std::stod(xy.substr(xy.find(',') + 1)));
    double mean = 0;
    for (double y : ys) mean += y / static_cast<double>(ys.size());
    return fmt::format("polygon{}{}", ys.size(), ys[0] < mean ? "up" : "down");
  }
  if (e.name == "path") {
    std::string commands;
    for (char c : e.attribute("d")) {
      if (std::isalpha(static_cast<unsigned char>(c))) commands += c;
    }
    return "path" + commands;
  }
  return e.name;
}

TEST(SvgPlot, EightSeriesDifferInMarkerAndDashNotOnlyInColour) {
  // Fig. 2 has seven point-wise functions and softmax; printed in grey, colour is gone.
  Plot plot;
  for (int s = 0; s < 8; ++s) {
    PlotSeries series;
    series.label = fmt::format("h{}", s);
    series.points.push_back(point(0, 70.0 + s, NAN));
    series.points.push_back(point(1, 71.0 + s, NAN));
    plot.series.push_back(series);
  }
  plot.series.push_back(softmax_reference(75, 0.5));
  std::vector<testing::XmlElement> elements;
  ASSERT_EQ(testing::check_xml(render_svg(plot), &elements), "");
  std::set<std::string> shapes, dashes, colours;
  std::string reference_colour;
  size_t reference_markers = 0;
  for (const auto& e : elements) {
    if (e.attribute("class") == "point") {
      if (e.attribute("data-series") == "8") ++reference_markers;
      shapes.insert(e.attribute("data-series") + ":" + marker_shape(e));
    }
    if (e.attribute("class") != "series-line") continue;
    if (e.attribute("data-series") == "8") {
      reference_colour = e.attribute("stroke");
      continue;
    }
    dashes.insert(e.attribute("stroke-dasharray"));
    colours.insert(e.attribute("stroke"));
  }
  std::set<std::string> distinct_shapes;
  for (const auto& s : shapes) distinct_shapes.insert(s.substr(s.find(':') + 1));
  EXPECT_EQ(distinct_shapes.size(), 8u);
  EXPECT_EQ(dashes.size(), 8u);
  // The reference is black and has no markers; no series is black.
  EXPECT_EQ(reference_colour, "#000000");
  EXPECT_EQ(reference_markers, 0u);
  EXPECT_EQ(colours.count("#000000"), 0u);
}

TEST(SvgPlot, SeedsAreDotsAndTheFootnoteIsInTheSvg) {
  Plot plot = three_series(false);
  plot.series[0].points[0].samples = {30.5, 31.5, 32};
  plot.series[0].points[1].highlight = true;
  plot.footnote =
      "Each point: the mean of 3 seeds (faint dots: the single seeds); bars: ±1 "
      "sample std over the seeds. Trained 5 epochs of fashion-mnist.";
  const std::string svg = render_svg(plot);
  std::vector<testing::XmlElement> elements;
  ASSERT_EQ(testing::check_xml(svg, &elements), "") << svg;
  size_t samples = 0, highlights = 0;
  for (const auto& e : elements) {
    samples += e.attribute("class") == "sample";
    highlights += e.attribute("class") == "highlight";
  }
  EXPECT_EQ(samples, 3u);
  EXPECT_EQ(highlights, 1u);
  EXPECT_THAT(svg, HasSubstr("Each point: the mean of 3 seeds"));
  EXPECT_THAT(svg, HasSubstr("epochs of fashion-mnist"));
  // The footnote sits inside the picture.
  const double height = std::stod(elements.front().attribute("height"));
  for (const auto& e : elements) {
    if (e.name == "tspan") {
      EXPECT_LT(std::stod(e.attribute("y")), height);
    }
  }
}

TEST(SvgPlot, SharedYRangeGivesEveryPanelTheSameTicks) {
  std::vector<Plot> panels(2);
  for (int i = 0; i < 2; ++i) {
    PlotSeries s;
    s.label = "relu";
    s.points = {point(0, 70.5 + 6 * i, 0.5), point(1, 71.5 + 6 * i, NAN)};
    s.points[1].samples = {71, 72 + 6.0 * i};
    panels[i].series.push_back(s);
    panels[i].y_label = "test accuracy (%)";
  }
  share_y_range(panels);
  // 70 (70.5 - 0.5) to 78 (the seed at 78), over both panels.
  for (const Plot& p : panels) {
    EXPECT_DOUBLE_EQ(p.y_min, 70);
    EXPECT_DOUBLE_EQ(p.y_max, 78);
    const std::string svg = render_svg(p);
    EXPECT_THAT(svg, HasSubstr(">70</text>"));
    EXPECT_THAT(svg, HasSubstr(">78</text>"));
  }
}

TEST(AxisTicks, LinearTicksAreNiceAndCoverTheData) {
  const AxisScale accuracy = linear_scale(22.4, 33.9, 6);
  // About six ticks over 11.5 points: a step of 2, from the tick below the data to the one above.
  EXPECT_THAT(accuracy.ticks, ElementsAre(22, 24, 26, 28, 30, 32, 34));
  EXPECT_EQ(accuracy.lo, 22);
  EXPECT_EQ(accuracy.hi, 34);
  const AxisScale alpha = linear_scale(0, 2, 7);
  EXPECT_THAT(alpha.ticks, ElementsAre(0, 0.5, 1, 1.5, 2));
  EXPECT_EQ(alpha.label(1.5), "1.5");
  EXPECT_EQ(alpha.label(1), "1.0");
  const AxisScale epochs = linear_scale(1, 5, 7, 1);
  EXPECT_THAT(epochs.ticks, ElementsAre(1, 2, 3, 4, 5));
  EXPECT_EQ(epochs.label(3), "3");
  // No "-0.0" from rounding, no 0.30000000000000004.
  const AxisScale around_zero = linear_scale(-0.3, 0.3, 7);
  for (double t : around_zero.ticks)
    EXPECT_EQ(around_zero.label(t).find("000000"), std::string::npos);
  EXPECT_EQ(around_zero.label(-1e-17), "0.0");
}

TEST(AxisTicks, NiceStepsAreOneTwoOrFiveTimesAPowerOfTen) {
  EXPECT_DOUBLE_EQ(nice_step(0.33), 0.5);
  EXPECT_DOUBLE_EQ(nice_step(2.3), 2);
  EXPECT_DOUBLE_EQ(nice_step(0.011), 0.01);
  EXPECT_DOUBLE_EQ(nice_step(80), 100);
}

TEST(AxisTicks, LogTicksArePowersOfTenOrOneTwoFive) {
  const AxisScale wide = log_scale(0.3, 4000);
  EXPECT_THAT(wide.ticks, ElementsAre(1, 10, 100, 1000));
  EXPECT_EQ(wide.label(1000), "1000");
  const AxisScale narrow = log_scale(0.22, 4.1);
  EXPECT_THAT(narrow.ticks, ElementsAre(0.2, 0.5, 1, 2, 5));
  EXPECT_EQ(narrow.label(0.2), "0.2");
  const AxisScale huge = log_scale(1e5, 1e7);
  EXPECT_EQ(huge.label(1e6), "1e6");
}

}  // namespace
}  // namespace vitsweep::report
