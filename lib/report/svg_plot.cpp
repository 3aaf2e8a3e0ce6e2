#include "report/svg_plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <sstream>

#include "report/axis_ticks.hpp"

namespace vitsweep::report {

namespace {

// Okabe & Ito's palette without its yellow (too light on white) and its black (kept for
// reference lines), then Tol's wine and a grey.
constexpr std::array<const char*, 8> kPalette = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                                 "#E69F00", "#56B4E9", "#882255", "#777777"};
constexpr const char* kReferenceColor = "#000000";

// Solid, dashed, dotted, dash-dot, short dashes, dash-dot-dot, long dashes, dash-dot-dot short.
constexpr std::array<const char*, kDashPatterns> kDashes = {
    "", "8 4", "2 3", "10 3 2 3", "4 2", "12 3 2 3 2 3", "16 4", "6 2 1 2 1 2"};
static_assert(kDashes.size() == kDashPatterns);

constexpr int kTitleSize = 16, kLabelSize = 13, kTickSize = 12, kLegendSize = 12;
constexpr int kLegendRow = 20;

// Width of text in pixels for the fonts used here: ~0.6 em per character is a safe upper bound
// for DejaVu Sans / Arial at these sizes.
double text_width(const std::string& text, int size) {
  size_t chars = 0;
  for (unsigned char c : text) chars += (c & 0xC0) != 0x80;
  return 0.6 * size * static_cast<double>(chars);
}

std::string num(double v) { return fmt::format("{:.1f}", v); }

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
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string palette_color(int i) { return kPalette[static_cast<size_t>(i) % kPalette.size()]; }

std::string dash_pattern(int i) { return kDashes[static_cast<size_t>(i) % kDashes.size()]; }

namespace {

constexpr int kFootnoteSize = 11, kFootnoteLine = 15;

Range y_data_range(const Plot& plot) {
  Range ys;
  for (const auto& s : plot.series) {
    for (const auto& p : s.points) {
      const double err = std::isfinite(p.y_err) ? p.y_err : 0;
      ys.add(p.y - err);
      ys.add(p.y + err);
      for (double v : p.samples) ys.add(v);
    }
  }
  return ys;
}

struct Style {
  std::string color;
  int marker = 0;    // -1: none
  std::string dash;  // stroke-dasharray, "" solid
  bool hollow = false;
  double width = 2;
};

// Defaults come from the series' position among the non-reference series, so a plot whose
// series set nothing still has a distinct colour, marker and dash for each.
Style series_style(const Plot& plot, size_t i) {
  const PlotSeries& s = plot.series[i];
  if (s.reference)
    return {kReferenceColor, -1, s.dash >= 0 ? dash_pattern(s.dash) : "", false, 2.5};
  int rank = 0;
  for (size_t j = 0; j < i; ++j) rank += plot.series[j].reference ? 0 : 1;
  return {palette_color(s.color >= 0 ? s.color : rank),
          (s.marker >= 0 ? s.marker : rank) % kMarkerShapes,
          dash_pattern(s.dash >= 0 ? s.dash : rank), s.hollow, 2};
}

std::string dash_attribute(const Style& style) {
  return style.dash.empty() ? "" : fmt::format(" stroke-dasharray=\"{}\"", style.dash);
}

// Marker `shape` centred on (x, y): circle, square, triangle, diamond, inverted triangle, x, +,
// star.
// `extra` goes into the element (class and data-series for plotted points).
std::string marker_svg(const Style& style, double x, double y, const std::string& extra) {
  const std::string fill = style.hollow ? "#ffffff" : style.color;
  const std::string paint =
      fmt::format("fill=\"{}\" stroke=\"{}\" stroke-width=\"1.5\"", fill, style.color);
  auto polygon = [&](std::initializer_list<std::pair<double, double>> corners) {
    std::string points;
    for (const auto& [dx, dy] : corners)
      points += fmt::format("{}{},{}", points.empty() ? "" : " ", num(x + dx), num(y + dy));
    return fmt::format("<polygon{} points=\"{}\" {}/>\n", extra, points, paint);
  };
  // Crosses are strokes only: thicker, so they weigh as much as the filled shapes.
  auto strokes = [&](const std::string& d) {
    return fmt::format("<path{} d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.2\"/>\n",
                       extra, d, style.color);
  };
  switch (style.marker) {
    case 1:
      return fmt::format("<rect{} x=\"{}\" y=\"{}\" width=\"7.4\" height=\"7.4\" {}/>\n", extra,
                         num(x - 3.7), num(y - 3.7), paint);
    case 2: return polygon({{0, -5.2}, {4.6, 3.4}, {-4.6, 3.4}});
    case 3: return polygon({{0, -5.4}, {5.4, 0}, {0, 5.4}, {-5.4, 0}});
    case 4: return polygon({{0, 5.2}, {4.6, -3.4}, {-4.6, -3.4}});
    case 5:
      return strokes(fmt::format("M{},{}L{},{}M{},{}L{},{}", num(x - 4), num(y - 4), num(x + 4),
                                 num(y + 4), num(x - 4), num(y + 4), num(x + 4), num(y - 4)));
    case 6:
      return strokes(fmt::format("M{},{}H{}M{},{}V{}", num(x - 5), num(y), num(x + 5), num(x),
                                 num(y - 5), num(y + 5)));
    case 7:
      return polygon({{0, -6},
                      {1.6, -2},
                      {5.7, -1.9},
                      {2.5, 0.7},
                      {3.5, 4.9},
                      {0, 2.5},
                      {-3.5, 4.9},
                      {-2.5, 0.7},
                      {-5.7, -1.9},
                      {-1.6, -2}});
    default:
      return fmt::format("<circle{} cx=\"{}\" cy=\"{}\" r=\"4.2\" {}/>\n", extra, num(x), num(y),
                         paint);
  }
}

// Words of `text` in lines of at most `chars` characters (a longer word gets a line of its own).
std::vector<std::string> wrap(const std::string& text, size_t chars) {
  std::vector<std::string> lines;
  std::string line, word;
  std::istringstream words(text);
  while (words >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > chars) {
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

struct Layout {
  Box area;
  bool legend_right = true;
  size_t legend_columns = 1;
  double entry_width = 0;
  double legend_top = 0;
  std::vector<std::string> footnote;
  double footnote_top = 0;
  int height = 0;
};

// The legend goes to the right of the plot, unless asked for below or that would leave the plot
// less than 45% of the width; below, it takes as many columns as fit. Never over the data. The
// footnote goes under everything.
Layout lay_out(const Plot& plot, const AxisScale& y_axis) {
  Layout l;
  double label_width = 0;
  for (const auto& s : plot.series)
    label_width = std::max(label_width, text_width(s.label, kLegendSize));
  l.entry_width = std::min(label_width + 48, 320.0);
  double y_tick_width = 0;
  for (double t : y_axis.ticks)
    y_tick_width = std::max(y_tick_width, text_width(y_axis.label(t), kTickSize));
  const double left = 28 + y_tick_width + 12;
  const double right_legend = std::max(l.entry_width, 110.0);
  l.legend_right = !plot.legend_below && plot.width - left - right_legend - 24 >= 0.45 * plot.width;
  const size_t entries = plot.series.size();
  size_t legend_rows = entries;
  if (!l.legend_right && entries > 0) {
    l.legend_columns = std::clamp<size_t>(
        static_cast<size_t>((plot.width - left - 16) / l.entry_width), 1, entries);
    legend_rows = (entries + l.legend_columns - 1) / l.legend_columns;
  }
  const double legend_height = kLegendRow * static_cast<double>(legend_rows);
  l.area = {left, 52, l.legend_right ? plot.width - right_legend - 24 : plot.width - 24.0,
            plot.height - 60.0};
  l.legend_top = l.legend_right ? l.area.top + 10 : l.area.bottom + 66;
  const double content_bottom = l.legend_right
                                    ? std::max(l.area.bottom + 52, l.legend_top + legend_height)
                                    : l.legend_top + legend_height - 8;
  const auto chars = static_cast<size_t>((plot.width - 2 * 14) / (0.6 * kFootnoteSize));
  l.footnote = wrap(plot.footnote, chars);
  l.footnote_top = content_bottom + 12;
  const double bottom =
      l.footnote.empty() ? content_bottom
                         : l.footnote_top + kFootnoteLine * static_cast<double>(l.footnote.size());
  l.height = std::max(plot.height, static_cast<int>(std::ceil(bottom + 10)));
  return l;
}

}  // namespace

void share_y_range(std::vector<Plot>& plots) {
  std::map<std::string, Range> ranges;
  for (const Plot& p : plots) {
    const Range r = y_data_range(p);
    Range& shared = ranges[p.y_label];
    shared.add(r.min);
    shared.add(r.max);
  }
  for (Plot& p : plots) {
    const Range& r = ranges[p.y_label];
    if (r.empty()) continue;
    p.y_min = r.min;
    p.y_max = r.max;
  }
}

std::string render_svg(const Plot& plot) {
  // Data ranges (error bars and seed dots included, so they stay inside the frame).
  Range xs;
  for (const auto& s : plot.series) {
    for (const auto& p : s.points) {
      if (!s.reference && (!plot.log_x || p.x > 0)) xs.add(p.x);
    }
  }
  Range ys = y_data_range(plot);
  if (std::isfinite(plot.y_min) && std::isfinite(plot.y_max)) {
    ys = Range{};
    ys.add(plot.y_min);
    ys.add(plot.y_max);
  }
  if (xs.empty()) xs.add(plot.log_x ? 1 : 0), xs.add(plot.log_x ? 10 : 1);
  if (ys.empty()) ys.add(0), ys.add(1);
  AxisScale x_axis = plot.log_x ? log_scale(xs.min, xs.max)
                                : linear_scale(xs.min, xs.max, 7, plot.integer_x ? 1 : 0);
  const AxisScale y_axis = linear_scale(ys.min, ys.max, 6);
  const Layout layout = lay_out(plot, y_axis);
  const Box& area = layout.area;
  const int height = layout.height;
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

  // Series: reference bands first (under everything), then lines, seed dots, error bars, points.
  for (size_t i = 0; i < plot.series.size(); ++i) {
    const PlotSeries& s = plot.series[i];
    const Style style = series_style(plot, i);
    svg += fmt::format("<g class=\"series{}\" data-series=\"{}\" data-label=\"{}\">\n",
                       s.reference ? " reference" : "", i, xml_escape(s.label));
    if (s.reference) {
      if (!s.points.empty()) {
        const PlotPoint& p = s.points.front();
        if (std::isfinite(p.y_err) && p.y_err > 0) {
          svg += fmt::format(
              "<rect class=\"band\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" "
              "fill-opacity=\"0.08\"/>\n",
              num(area.left), num(py(p.y + p.y_err)), num(area.width()),
              num(py(p.y - p.y_err) - py(p.y + p.y_err)), style.color);
        }
        svg += fmt::format(
            "<polyline class=\"series-line\" data-series=\"{}\" points=\"{},{} {},{}\" "
            "fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"{}/>\n",
            i, num(area.left), num(py(p.y)), num(area.right), num(py(p.y)), style.color,
            style.width, dash_attribute(style));
        if (!s.end_label.empty()) {
          svg += fmt::format(
              "<text class=\"reference-label\" x=\"{}\" y=\"{}\" font-size=\"11\" "
              "text-anchor=\"end\" fill=\"#000000\">{}</text>\n",
              num(area.right - 4), num(py(p.y) - 4), xml_escape(s.end_label));
        }
      }
      svg += "</g>\n";
      continue;
    }
    const double shift = dodge(i);
    auto visible = [&](const PlotPoint& p) { return !plot.log_x || p.x > 0; };
    std::string points;
    for (const auto& p : s.points) {
      if (!visible(p)) continue;
      points +=
          fmt::format("{}{},{}", points.empty() ? "" : " ", num(px(p.x) + shift), num(py(p.y)));
    }
    svg += fmt::format(
        "<polyline class=\"series-line\" data-series=\"{}\" points=\"{}\" fill=\"none\" "
        "stroke=\"{}\" stroke-width=\"{}\"{}{}/>\n",
        i, points, style.color, style.width, dash_attribute(style),
        s.lines ? "" : " stroke-opacity=\"0\"");
    for (const auto& p : s.points) {
      if (!visible(p)) continue;
      for (double v : p.samples) {
        svg += fmt::format(
            "<circle class=\"sample\" cx=\"{}\" cy=\"{}\" r=\"2.2\" fill=\"{}\" "
            "fill-opacity=\"0.4\"/>\n",
            num(px(p.x) + shift), num(py(v)), style.color);
      }
      if (std::isfinite(p.y_err) && p.y_err > 0) {
        const double x = px(p.x) + shift, top = py(p.y + p.y_err), bottom = py(p.y - p.y_err);
        svg += fmt::format(
            "<path class=\"error-bar\" d=\"M{0},{1}V{2}M{3},{1}H{4}M{3},{2}H{4}\" stroke=\"{5}\" "
            "stroke-width=\"1.3\" fill=\"none\"/>\n",
            num(x), num(top), num(bottom), num(x - 4), num(x + 4), style.color);
      }
    }
    for (const PlotPoint& p : s.points) {
      if (!visible(p)) continue;
      const double x = px(p.x) + shift, y = py(p.y);
      if (p.highlight) {
        svg += fmt::format(
            "<circle class=\"highlight\" cx=\"{}\" cy=\"{}\" r=\"9\" fill=\"none\" stroke=\"{}\" "
            "stroke-width=\"1.6\"/>\n",
            num(x), num(y), style.color);
      }
      svg += marker_svg(style, x, y, fmt::format(" class=\"point\" data-series=\"{}\"", i));
      if (!p.label.empty()) {
        svg += fmt::format(
            "<text class=\"point-label\" x=\"{}\" y=\"{}\" font-size=\"11\" "
            "fill=\"#333333\">{}</text>\n",
            num(x + 7), num(p.label_below ? y + 16 : y - 8), xml_escape(p.label));
      }
    }
    svg += "</g>\n";
  }

  // Legend: a line sample, a marker and the label per series.
  svg += fmt::format("<g class=\"legend\" font-size=\"{}\">\n", kLegendSize);
  for (size_t i = 0; i < plot.series.size(); ++i) {
    const PlotSeries& s = plot.series[i];
    const Style style = series_style(plot, i);
    const size_t column = layout.legend_right ? 0 : i % layout.legend_columns;
    const size_t row = layout.legend_right ? i : i / layout.legend_columns;
    const double x = layout.legend_right
                         ? area.right + 18
                         : area.left + layout.entry_width * static_cast<double>(column);
    const double y = layout.legend_top + kLegendRow * static_cast<double>(row);
    svg += fmt::format(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\"{}/>\n",
        num(x), num(y), num(x + 30), num(y), style.color, style.width, dash_attribute(style));
    if (!s.reference) svg += marker_svg(style, x + 15, y, "");
    svg += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", num(x + 38), num(y + 4),
                       xml_escape(s.label));
  }
  svg += "</g>\n";
  if (!layout.footnote.empty()) {
    svg +=
        fmt::format("<text class=\"footnote\" font-size=\"{}\" fill=\"#444444\">\n", kFootnoteSize);
    for (size_t l = 0; l < layout.footnote.size(); ++l) {
      svg += fmt::format("<tspan x=\"14\" y=\"{}\">{}</tspan>\n",
                         num(layout.footnote_top + kFootnoteLine * static_cast<double>(l)),
                         xml_escape(layout.footnote[l]));
    }
    svg += "</text>\n";
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace vitsweep::report
