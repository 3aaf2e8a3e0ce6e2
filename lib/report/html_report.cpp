#include "report/html_report.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/error.hpp"
#include "report/csv.hpp"
#include "report/paper_figures.hpp"
#include "report/read_only_sql.hpp"
#include "report/svg_plot.hpp"
#include "report/sweep_status.hpp"
#include "report/sweep_table.hpp"

namespace vitsweep::report {

namespace {

namespace fs = std::filesystem;

// Tables on the page: 4 significant digits tell accuracies apart; the CSV beside has them all.
constexpr int kPageDigits = 4;

const char* kStyle = R"css(
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; margin: 24px 32px; color: #222;
       max-width: 1500px; }
h1 { font-size: 24px; margin-bottom: 4px; }
h2 { font-size: 19px; margin-top: 36px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
p.caption { max-width: 980px; line-height: 1.45; }
ul.notes { color: #555; font-size: 14px; }
.figures { display: flex; flex-wrap: wrap; gap: 12px; }
.figures img { border: 1px solid #e5e5e5; }
.skipped { color: #8a5a00; background: #fff6e0; padding: 8px 12px 8px 28px; border-radius: 4px;
           max-width: 960px; }
.table-wrap { overflow-x: auto; max-height: 520px; overflow-y: auto; margin-top: 10px; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; white-space: nowrap; }
th { background: #f4f4f4; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
nav a { margin-right: 14px; }
)css";

void write_text_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) fail("{}: cannot write: {}", path.string(), std::strerror(errno));
}

std::string html_table(const ValueTable& table) {
  std::string html = "<div class=\"table-wrap\"><table>\n<tr>";
  for (const auto& c : table.columns) html += "<th>" + xml_escape(c) + "</th>";
  html += "</tr>\n";
  for (const auto& row : table.rows) {
    html += "<tr>";
    for (const Value& v : row) {
      const bool number = as_number(v).has_value();
      html += fmt::format("<td{}>{}</td>", number ? " class=\"num\"" : "",
                          is_null(v) ? "" : xml_escape(format_value(v, kPageDigits)));
    }
    html += "</tr>\n";
  }
  return html + "</table></div>\n";
}

std::string html_text_table(const TextTable& table) {
  std::string html = "<div class=\"table-wrap\"><table>\n<tr>";
  for (const auto& c : table.header) html += "<th>" + xml_escape(c) + "</th>";
  html += "</tr>\n";
  for (const auto& row : table.rows) {
    html += "<tr>";
    for (const auto& cell : row) {
      html += fmt::format("<td{}>{}</td>", looks_numeric(cell) ? " class=\"num\"" : "",
                          xml_escape(cell));
    }
    html += "</tr>\n";
  }
  return html + "</table></div>\n";
}

struct Page {
  std::string html;
  std::vector<std::pair<std::string, std::string>> files;  // name, content
  std::vector<std::string> svgs, skipped;
};

Page build(store::Database& db, const std::string& sweep) {
  Page page;
  const TrialFilter filter{sweep, ""};
  const ValueTable info = read_only_query(
      db, "SELECT description, file, id FROM sweeps WHERE name = ?1", {Value(sweep)}, "report");
  if (info.rows.empty()) fail_usage("--sweep: no sweep named '{}' in {}", sweep, db.path());
  const store::StatusCounts counts = store::status_counts(db, std::get<int64_t>(info.rows[0][2]));
  const std::vector<Figure> figures = all_figures(db, filter);

  std::string& h = page.html;
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n";
  h += fmt::format("<title>sweep report: {}</title>\n<style>{}</style>\n</head>\n<body>\n",
                   xml_escape(sweep), kStyle);
  h += fmt::format("<h1>Sweep {}</h1>\n", xml_escape(sweep));
  const std::string description = format_value(info.rows[0][0]);
  if (!description.empty())
    h += fmt::format("<p class=\"caption\">{}</p>\n", xml_escape(description));
  h += fmt::format(
      "<p>Trials: {}. Database <code>{}</code>{}.</p>\n", xml_escape(describe_counts(counts)),
      xml_escape(db.path()),
      format_value(info.rows[0][1]).empty()
          ? ""
          : fmt::format(", sweep file <code>{}</code>", xml_escape(format_value(info.rows[0][1]))));
  h += "<nav>";
  for (const Figure& f : figures) {
    if (f.skipped.empty()) h += fmt::format("<a href=\"#{}\">{}</a>", f.id, xml_escape(f.title));
  }
  h += "<a href=\"#trials\">All trials</a></nav>\n";

  for (const Figure& f : figures) {
    if (!f.skipped.empty()) {
      page.skipped.push_back(fmt::format("{}: {}", f.id, f.skipped));
      continue;
    }
    h += fmt::format("<section id=\"{}\">\n<h2>{}</h2>\n", f.id, xml_escape(f.title));
    h += fmt::format("<p class=\"caption\">{}</p>\n", xml_escape(f.caption));
    if (!f.plots.empty()) h += "<div class=\"figures\">\n";
    for (size_t i = 0; i < f.plots.size(); ++i) {
      const std::string name = fmt::format("{}-{}.svg", f.id, i + 1);
      page.files.emplace_back(name, render_svg(f.plots[i]));
      page.svgs.push_back(name);
      h += fmt::format("<img src=\"{}\" alt=\"{}\" width=\"{}\"/>\n", name,
                       xml_escape(f.plots[i].title), f.plots[i].width);
    }
    if (!f.plots.empty()) h += "</div>\n";
    if (!f.table.notes.empty()) {
      h += "<ul class=\"notes\">\n";
      for (const auto& note : f.table.notes) h += fmt::format("<li>{}</li>\n", xml_escape(note));
      h += "</ul>\n";
    }
    const std::string csv = f.id + ".csv";
    page.files.emplace_back(csv, format_csv(f.table));
    h += fmt::format(
        "<details{}><summary>Table ({} rows; <a href=\"{}\">{}</a>)</summary>\n{}</details>\n",
        f.id == "curves" ? "" : " open=\"open\"", f.table.rows.size(), csv, csv,
        html_table(f.table));
    h += "</section>\n";
  }
  // The figures this sweep was not designed for, or has no data for, in one short list.
  if (!page.skipped.empty()) {
    h += "<section id=\"not-drawn\">\n<h2>Figures not drawn</h2>\n<ul class=\"skipped\">\n";
    for (const Figure& f : figures) {
      if (f.skipped.empty()) continue;
      h += fmt::format("<li>Not drawn: {}: {}.</li>\n", xml_escape(f.title), xml_escape(f.skipped));
    }
    h += "</ul>\n</section>\n";
  }
  h += "<section id=\"trials\">\n<h2>All trials</h2>\n<details><summary>One row per trial (the "
       "settings that vary)</summary>\n";
  h += html_text_table(sweep_results_table(db, sweep));
  h += "</details>\n</section>\n</body>\n</html>\n";
  return page;
}

}  // namespace

ReportFiles write_report(store::Database& db, const std::string& sweep, const std::string& dir) {
  const Page page = build(db, sweep);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("{}: cannot create the report folder: {}", dir, ec.message());
  ReportFiles files;
  for (const auto& [name, content] : page.files) write_text_file(fs::path(dir) / name, content);
  files.index = (fs::path(dir) / "index.html").string();
  write_text_file(files.index, page.html);
  for (const auto& svg : page.svgs) files.figures.push_back((fs::path(dir) / svg).string());
  files.skipped = page.skipped;
  return files;
}

}  // namespace vitsweep::report
