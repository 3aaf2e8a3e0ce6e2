// The forms `sweep query` prints a result in: an aligned table for reading in a terminal (120
// columns), RFC 4180 CSV, JSON (a list of objects, columns in order) or a Markdown table.
#pragma once

#include <string>
#include <string_view>

#include "report/value_table.hpp"

namespace vitsweep::report {

enum class TableFormat { table, csv, json, markdown };

// "table", "csv", "json", "markdown"; anything else is a UsageError naming the choices.
TableFormat parse_table_format(std::string_view name);

// Reals in the table and Markdown forms get this many significant digits: enough to compare
// accuracies (0.912345), short enough to keep rows on one line. CSV and JSON keep every digit.
constexpr int kReadableDigits = 6;

std::string format_table(const ValueTable& table, TableFormat format);

std::string format_json(const ValueTable& table);
std::string format_markdown(const ValueTable& table, int significant_digits = kReadableDigits);
// Aligned columns (report/text_table.hpp); NULL shows as "-", line breaks inside a cell as "\n".
// Tables much wider than max_width are shown one row at a time, a line per column.
std::string format_aligned(const ValueTable& table, int significant_digits = kReadableDigits,
                           size_t max_width = 120);

}  // namespace vitsweep::report
