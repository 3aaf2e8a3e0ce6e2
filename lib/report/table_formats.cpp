#include "report/table_formats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "common/json.hpp"
#include "report/csv.hpp"
#include "report/text_table.hpp"

namespace vitsweep::report {

namespace {

std::string one_line(std::string text, std::string_view line_break) {
  std::string out;
  for (char c : text) {
    if (c == '\n')
      out += line_break;
    else if (c != '\r')
      out += c;
  }
  return out;
}

size_t display_width(const std::string& text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

TableFormat parse_table_format(std::string_view name) {
  if (name == "table") return TableFormat::table;
  if (name == "csv") return TableFormat::csv;
  if (name == "json") return TableFormat::json;
  if (name == "markdown") return TableFormat::markdown;
  fail_usage("--format: unknown format '{}' (expected table, csv, json or markdown)", name);
}

std::string format_table(const ValueTable& table, TableFormat format) {
  switch (format) {
    case TableFormat::csv: return format_csv(table);
    case TableFormat::json: return format_json(table);
    case TableFormat::markdown: return format_markdown(table);
    case TableFormat::table: break;
  }
  return format_aligned(table);
}

std::string format_json(const ValueTable& table) {
  OrderedJson rows = OrderedJson::array();
  for (const auto& row : table.rows) {
    OrderedJson object = OrderedJson::object();
    for (size_t c = 0; c < table.columns.size(); ++c) {
      const Value& v = row[c];
      OrderedJson& cell = object[table.columns[c]];
      if (const auto* i = std::get_if<int64_t>(&v))
        cell = *i;
      else if (const auto* d = std::get_if<double>(&v))
        cell = std::isfinite(*d) ? OrderedJson(*d) : OrderedJson();
      else if (const auto* s = std::get_if<std::string>(&v))
        cell = *s;
      else
        cell = nullptr;
    }
    rows.push_back(std::move(object));
  }
  // Invalid UTF-8 in a TEXT column must not abort the whole output.
  return rows.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string format_markdown(const ValueTable& table, int significant_digits) {
  auto escape = [](const std::string& text) {
    std::string out;
    for (char c : one_line(text, "<br>")) {
      if (c == '|')
        out += "\\|";
      else
        out += c;
    }
    return out;
  };
  std::vector<bool> numeric(table.columns.size(), true);
  for (const auto& row : table.rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      if (std::holds_alternative<std::string>(row[c])) numeric[c] = false;
    }
  }
  std::string out = "|";
  for (const auto& name : table.columns) out += fmt::format(" {} |", escape(name));
  out += "\n|";
  for (size_t c = 0; c < table.columns.size(); ++c) out += numeric[c] ? "---:|" : "---|";
  out += "\n";
  for (const auto& row : table.rows) {
    out += "|";
    for (const Value& v : row)
      out += fmt::format(" {} |", escape(format_value(v, significant_digits)));
    out += "\n";
  }
  return out;
}

std::string format_aligned(const ValueTable& table, int significant_digits, size_t max_width) {
  TextTable text;
  text.header = table.columns;
  for (const auto& row : table.rows) {
    std::vector<std::string> cells;
    for (const Value& v : row) {
      cells.push_back(is_null(v) ? "-" : one_line(format_value(v, significant_digits), "\\n"));
    }
    text.rows.push_back(std::move(cells));
  }
  // A table far wider than the terminal (SELECT * FROM results has 60 columns) would shrink to
  // unreadable stubs: show one block per row instead, a line per column (psql's expanded mode).
  size_t natural = 0;
  std::vector<size_t> widths(text.header.size(), 0);
  for (size_t c = 0; c < text.header.size(); ++c) {
    widths[c] = display_width(text.header[c]);
    for (const auto& row : text.rows) widths[c] = std::max(widths[c], display_width(row[c]));
    natural += widths[c] + 2;
  }
  if (natural <= max_width + max_width / 2) return format_text_table(text, max_width);
  size_t name_width = 0;
  for (const auto& name : text.header) name_width = std::max(name_width, display_width(name));
  std::string out;
  for (size_t r = 0; r < text.rows.size(); ++r) {
    const std::string title = fmt::format("-[ row {} ]", r + 1);
    out += title +
           std::string(std::max<size_t>(4, std::min<size_t>(max_width, 40) - title.size()), '-') +
           "\n";
    for (size_t c = 0; c < text.header.size(); ++c) {
      out += text.header[c] + std::string(name_width - display_width(text.header[c]) + 2, ' ');
      out += text.rows[r][c] + "\n";
    }
  }
  return out;
}

}  // namespace vitsweep::report
