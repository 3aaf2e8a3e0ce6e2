#include "report/text_table.hpp"

#include <algorithm>
#include <cstdlib>

namespace vitsweep::report {

namespace {

// Display width of UTF-8 text: count code points (the tables hold no wide characters).
size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string shorten(const std::string& s, size_t width) {
  if (display_width(s) <= width) return s;
  if (width == 0) return "";
  std::string out;
  size_t n = 0;
  for (size_t i = 0; i < s.size() && n + 1 < width; ++i) {
    out += s[i];
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++n;
  }
  while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
  return out + "…";
}

}  // namespace

bool looks_numeric(const std::string& cell) {
  if (cell.empty()) return false;
  char* end = nullptr;
  std::strtod(cell.c_str(), &end);
  return end != cell.c_str() && (*end == '\0' || *end == '%' || *end == 's');
}

std::string format_text_table(const TextTable& table, size_t max_width) {
  const size_t columns = table.header.size();
  std::vector<size_t> widths(columns, 0);
  std::vector<bool> numeric(columns, true);
  for (size_t c = 0; c < columns; ++c) widths[c] = display_width(table.header[c]);
  for (const auto& row : table.rows) {
    for (size_t c = 0; c < columns && c < row.size(); ++c) {
      widths[c] = std::max(widths[c], display_width(row[c]));
      if (!row[c].empty() && row[c] != "-" && !looks_numeric(row[c])) numeric[c] = false;
    }
  }
  // Shrink the widest columns until the table fits (never below 6 characters).
  auto total = [&] {
    size_t t = 0;
    for (size_t w : widths) t += w + 2;
    return t;
  };
  while (total() > max_width) {
    auto widest = std::max_element(widths.begin(), widths.end());
    if (*widest <= 6) break;
    --*widest;
  }
  std::string out;
  auto emit_row = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t c = 0; c < columns; ++c) {
      const std::string cell = shorten(c < cells.size() ? cells[c] : "", widths[c]);
      const std::string pad(widths[c] - display_width(cell), ' ');
      line += numeric[c] ? pad + cell : cell + pad;
      if (c + 1 < columns) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  emit_row(table.header);
  std::vector<std::string> rule;
  for (size_t w : widths) rule.emplace_back(w, '-');
  emit_row(rule);
  for (const auto& row : table.rows) emit_row(row);
  return out;
}

}  // namespace vitsweep::report
