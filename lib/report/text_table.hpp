// Aligned plain-text tables for the terminal: numbers right-aligned, text left-aligned, cells
// shortened with "…" only when the table would not fit `max_width` columns.
#pragma once

#include <string>
#include <vector>

namespace vitsweep::report {

struct TextTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

std::string format_text_table(const TextTable& table, size_t max_width = 120);

// True for cells that read as numbers (right-aligned).
bool looks_numeric(const std::string& cell);

}  // namespace vitsweep::report
