#include "report/svg_plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "report/axis_ticks.hpp"

namespace vitsweep::report {

namespace {

// Okabe & Ito's palette without its yellow (too light on white), then two greys.
constexpr std::array<const char*, 8> kPalette = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                                 "#E69F00", "#56B4E9", "#000000", "#999999"};

constexpr int kTitleSize = 16, kLabelSize = 13, kTickSize = 12, kLegendSize = 12;
constexpr int kLegendRow = 20;

// Width of text in pixels for the fonts used here: ~0.6 em per character is a safe upper bound
// for DejaVu Sans / Arial at these sizes.
double text_width(const std::string& text, int size) {
  size_t chars = 0;
  for (unsigned char c : text) chars += (c & 0xC0) != 0x80;
  return 0.6 * size * static_cast<double>(chars);
}

std::string num(double v) {
  return fmt::format("{:.1f}", v);
}

struct Box {
  double left, top, right, bottom;
  double width() const { return right - left; }
  double height() const { return bottom - top; }
};

struct Range {
  double min = INFINITY, max = -INFINITY;
  void add(double v) {
    if (std::isfinite(v)) min = std::min(min, v), max = std::max(max, v);
  }
  bool empty() const { return !(min <= max); }
};

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string palette_color(int i) {
  return kPalette[static_cast<size_t>(i) % kPalette.size()];
}

std::string render_svg(const Plot& plot) {
  // Data ranges (error bars included, so they stay inside the frame).
  Range xs, ys;
  for (const auto& s : plot.series) {
    for (const auto& p : s.points) {
      if (!s.reference && (!plot.log_x || p.x > 0)) xs.add(p.x);
      const double err = std::isfinite(p.y_err) ? p.y_err : 0;
      ys.add(p.y - err);
      ys.add(p.y + err);
    }
  }
  if (xs.empty()) xs.add(plot.log_x ? 1 : 0), xs.add(plot.log_x ? 10 : 1);
  if (ys.empty()) ys.add(0), ys.add(1);
  AxisScale x_axis = plot.log_x ? log_scale(xs.min, xs.max)
                                : linear_scale(xs.min, xs.max, 7, plot.integer_x ? 1 : 0);
  const AxisScale y_axis = linear_scale(ys.min, ys.max, 6);

  // Layout: the legend goes to the right of the plot, unless asked for below or that would leave
  // the plot less than 45% of the width; below, it takes as many columns as fit. Never over the
  // data.
  double label_width = 0;
  for (const auto& s : plot.series)
    label_width = std::max(label_width, text_width(s.label, kLegendSize));
  const double entry_width = std::min(label_width + 44, 320.0);
  double y_tick_width = 0;
  for (double t : y_axis.ticks)
    y_tick_width = std::max(y_tick_width, text_width(y_axis.label(t), kTickSize));
  const double left = 28 + y_tick_width + 12;
  const bool legend_right =
      !plot.legend_below &&
      plot.width - left - std::max(entry_width, 110.0) - 24 >= 0.45 * plot.width;
  const size_t entries = plot.series.size();
  size_t legend_columns = 1, legend_rows = entries;
  if (!legend_right && entries > 0) {
    legend_columns =
        std::clamp<size_t>(static_cast<size_t>((plot.width - left - 16) / entry_width), 1, entries);
    legend_rows = (entries + legend_columns - 1) / legend_columns;
  }
  const double legend_height = kLegendRow * static_cast<double>(legend_rows);
  const int height = legend_right ? std::max(plot.height, static_cast<int>(52 + legend_height + 80))
                                  : plot.height + static_cast<int>(legend_height) + 8;
  const Box area{left, 52,
                 legend_right ? plot.width - std::max(entry_width, 110.0) - 24 : plot.width - 24.0,
                 plot.height - 60.0};
  // Linear x axes get a margin so points at the ends do not sit on the frame.
  if (!plot.log_x) {
    const double pad = 0.04 * (x_axis.hi - x_axis.lo);
    x_axis.lo -= pad;
    x_axis.hi += pad;
  }
  // Series share x values (alpha, epoch): shift each a few pixels so their error bars stay
  // apart. The shift is small against the spacing of the ticks, so positions still read right.
  size_t drawn_series = 0;
  for (const auto& s : plot.series) drawn_series += s.reference ? 0 : 1;
  auto dodge = [&](size_t series_index) {
    if (plot.log_x || drawn_series < 2) return 0.0;
    size_t rank = 0;
    for (size_t j = 0; j < series_index; ++j) rank += plot.series[j].reference ? 0 : 1;
    return 3.0 * (static_cast<double>(rank) - static_cast<double>(drawn_series - 1) / 2);
  };
  auto px = [&](double x) { return area.left + x_axis.fraction(x) * area.width(); };
  auto py = [&](double y) { return area.bottom - y_axis.fraction(y) * area.height(); };

  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} "
      "{1}\" font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\">\n",
      plot.width, height);
  svg += fmt::format("<title>{}</title>\n", xml_escape(plot.title));
  svg += fmt::format("<rect width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n", plot.width, height);
  svg += fmt::format(
      "<text class=\"title\" x=\"{}\" y=\"28\" font-size=\"{}\" font-weight=\"bold\">{}</text>\n",
      num(area.left), kTitleSize, xml_escape(plot.title));

  // Grid and ticks.
  svg += "<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">\n";
  for (double t : y_axis.ticks) {
    svg += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>\n", num(area.left),
                       num(py(t)), num(area.right), num(py(t)));
  }
  for (double t : x_axis.ticks) {
    svg += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>\n", num(px(t)),
                       num(area.top), num(px(t)), num(area.bottom));
  }
  svg += "</g>\n";
  svg += fmt::format("<g class=\"axes\" font-size=\"{}\" fill=\"#333333\">\n", kTickSize);
  svg += fmt::format(
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#555555\"/>\n",
      num(area.left), num(area.top), num(area.width()), num(area.height()));
  for (double t : y_axis.ticks) {
    svg += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#555555\"/>\n",
                       num(area.left - 5), num(py(t)), num(area.left), num(py(t)));
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
                       num(area.left - 8), num(py(t) + 4), xml_escape(y_axis.label(t)));
  }
  for (double t : x_axis.ticks) {
    svg += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#555555\"/>\n",
                       num(px(t)), num(area.bottom), num(px(t)), num(area.bottom + 5));
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", num(px(t)),
                       num(area.bottom + 20), xml_escape(x_axis.label(t)));
  }
  svg += "</g>\n";
  svg += fmt::format(
      "<text class=\"x-label\" x=\"{}\" y=\"{}\" font-size=\"{}\" "
      "text-anchor=\"middle\">{}</text>\n",
      num((area.left + area.right) / 2), num(area.bottom + 44), kLabelSize,
      xml_escape(plot.x_label));
  svg += fmt::format(
      "<text class=\"y-label\" x=\"0\" y=\"0\" font-size=\"{0}\" text-anchor=\"middle\" "
      "transform=\"translate({1} {2}) rotate(-90)\">{3}</text>\n",
      kLabelSize, 18, num((area.top + area.bottom) / 2), xml_escape(plot.y_label));

  // Series: reference bands first (under everything), then lines, error bars and points.
  for (size_t i = 0; i < plot.series.size(); ++i) {
    const PlotSeries& s = plot.series[i];
    const std::string color = palette_color(s.color >= 0 ? s.color : static_cast<int>(i));
    const std::string dash = s.dashed ? " stroke-dasharray=\"7 4\"" : "";
    svg += fmt::format("<g class=\"series{}\" data-series=\"{}\" data-label=\"{}\">\n",
                       s.reference ? " reference" : "", i, xml_escape(s.label));
    if (s.reference) {
      if (!s.points.empty()) {
        const PlotPoint& p = s.points.front();
        if (std::isfinite(p.y_err) && p.y_err > 0) {
          svg += fmt::format(
              "<rect class=\"band\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" "
              "fill-opacity=\"0.10\"/>\n",
              num(area.left), num(py(p.y + p.y_err)), num(area.width()),
              num(py(p.y - p.y_err) - py(p.y + p.y_err)), color);
        }
        svg += fmt::format(
            "<polyline class=\"series-line\" data-series=\"{}\" points=\"{},{} {},{}\" "
            "fill=\"none\" "
            "stroke=\"{}\" stroke-width=\"2\"{}/>\n",
            i, num(area.left), num(py(p.y)), num(area.right), num(py(p.y)), color, dash);
      }
      svg += "</g>\n";
      continue;
    }
    const double shift = dodge(i);
    std::string points;
    for (const auto& p : s.points) {
      if (plot.log_x && p.x <= 0) continue;
      points +=
          fmt::format("{}{},{}", points.empty() ? "" : " ", num(px(p.x) + shift), num(py(p.y)));
    }
    svg += fmt::format(
        "<polyline class=\"series-line\" data-series=\"{}\" points=\"{}\" fill=\"none\" "
        "stroke=\"{}\" stroke-width=\"2\"{}{}/>\n",
        i, points, color, dash, s.lines ? "" : " stroke-opacity=\"0\"");
    for (const auto& p : s.points) {
      if (plot.log_x && p.x <= 0) continue;
      if (std::isfinite(p.y_err) && p.y_err > 0) {
        const double x = px(p.x) + shift, top = py(p.y + p.y_err), bottom = py(p.y - p.y_err);
        svg += fmt::format(
            "<path class=\"error-bar\" d=\"M{0},{1}V{2}M{3},{1}H{4}M{3},{2}H{4}\" stroke=\"{5}\" "
            "stroke-width=\"1.3\" fill=\"none\"/>\n",
            num(x), num(top), num(bottom), num(x - 4), num(x + 4), color);
      }
    }
    for (const auto& p : s.points) {
      if (plot.log_x && p.x <= 0) continue;
      svg += fmt::format(
          "<circle class=\"point\" data-series=\"{}\" cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{}\" "
          "stroke=\"{}\" stroke-width=\"1.5\"/>\n",
          i, num(px(p.x) + shift), num(py(p.y)), s.dashed ? "#ffffff" : color, color);
      if (!p.label.empty()) {
        svg += fmt::format(
            "<text class=\"point-label\" x=\"{}\" y=\"{}\" font-size=\"11\" "
            "fill=\"#333333\">{}</text>\n",
            num(px(p.x) + shift + 7), num(py(p.y) - 7), xml_escape(p.label));
      }
    }
    svg += "</g>\n";
  }

  // Legend: a line sample, a marker and the label per series.
  svg += fmt::format("<g class=\"legend\" font-size=\"{}\">\n", kLegendSize);
  for (size_t i = 0; i < plot.series.size(); ++i) {
    const PlotSeries& s = plot.series[i];
    const std::string color = palette_color(s.color >= 0 ? s.color : static_cast<int>(i));
    const size_t column = legend_right ? 0 : i % legend_columns;
    const size_t row = legend_right ? i : i / legend_columns;
    const double x =
        legend_right ? area.right + 18 : area.left + entry_width * static_cast<double>(column);
    const double y =
        (legend_right ? area.top + 10 : area.bottom + 66) + kLegendRow * static_cast<double>(row);
    svg += fmt::format(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"{}/>\n",
        num(x), num(y), num(x + 26), num(y), color, s.dashed ? " stroke-dasharray=\"7 4\"" : "");
    if (!s.reference) {
      svg += fmt::format(
          "<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{}\" stroke=\"{}\" stroke-width=\"1.5\"/>\n",
          num(x + 13), num(y), s.dashed ? "#ffffff" : color, color);
    }
    svg += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", num(x + 34), num(y + 4),
                       xml_escape(s.label));
  }
  svg += "</g>\n</svg>\n";
  return svg;
}

}  // namespace vitsweep::report
