// A table of typed SQL values: what a query returns and what every export form and figure table
// is built as, before it is written as CSV, JSON, Markdown or aligned text.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace vitsweep::report {

// NULL, INTEGER, REAL or TEXT, as SQLite stores them (BLOBs are read as text).
using Value = std::variant<std::monostate, int64_t, double, std::string>;

struct ValueTable {
  std::vector<std::string> columns;
  std::vector<std::vector<Value>> rows;
  // What a reader should know that the rows do not show (trials left out, settings pooled);
  // the CLI prints them to stderr.
  std::vector<std::string> notes;

  // Index of `column`, or nullopt.
  std::optional<size_t> find(const std::string& column) const;
  // Index of `column`; an internal error when missing (callers ask for columns they selected).
  size_t index(const std::string& column) const;
};

Value column_value(sqlite3_stmt* statement, int column);

inline bool is_null(const Value& v) { return std::holds_alternative<std::monostate>(v); }
// A real, or NULL for NaN (undefined: the std of one value, an interval from one pair).
Value real_or_null(double v);

// INTEGER and REAL as a double; nullopt for NULL and TEXT.
std::optional<double> as_number(const Value& v);

// How a value is written in CSV and JSON-free text: NULL is empty, integers in full, reals with
// `significant_digits` significant digits (0: the shortest text that reads back exactly).
std::string format_value(const Value& v, int significant_digits = 0);

// Total order used for sorting rows and distinct values: NULL first, then numbers by value, then
// text.
bool value_less(const Value& a, const Value& b);
bool value_equal(const Value& a, const Value& b);

}  // namespace vitsweep::report
