// The SVG plotting module: well-formed output with one polyline per series and one marker per
// point, escaped labels, log axes, and tick values a reader takes in at a glance.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "report/axis_ticks.hpp"
#include "report/svg_plot.hpp"
#include "report/xml_check.hpp"

namespace vitsweep::report {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Plot three_series(bool log_x) {
  Plot plot;
  plot.title = "accuracy <vs> alpha & friends";
  plot.x_label = "alpha";
  plot.y_label = "test accuracy (%)";
  plot.log_x = log_x;
  for (int s = 0; s < 2; ++s) {
    PlotSeries series;
    series.label = s == 0 ? "relu" : "gelu \"quoted\"";
    for (int i = 1; i <= 4; ++i) series.points.push_back({0.5 * i, 30.0 + i + s, 1.5, ""});
    plot.series.push_back(series);
  }
  PlotSeries softmax;
  softmax.label = "softmax (reference)";
  softmax.reference = true;
  softmax.points.push_back({0, 33, 0.8, ""});
  plot.series.push_back(softmax);
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
      points += e.name == "circle" && e.attribute("class") == "point";
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
