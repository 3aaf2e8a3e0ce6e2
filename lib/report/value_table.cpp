#include "report/value_table.hpp"

#include <fmt/format.h>

#include <cmath>

#include "common/error.hpp"
#include "common/text.hpp"

namespace vitsweep::report {

std::optional<size_t> ValueTable::find(const std::string& column) const {
  for (size_t c = 0; c < columns.size(); ++c) {
    if (columns[c] == column) return c;
  }
  return std::nullopt;
}

size_t ValueTable::index(const std::string& column) const {
  if (const auto c = find(column)) return *c;
  fail("internal: table has no column '{}'", column);
}

Value column_value(sqlite3_stmt* statement, int column) {
  switch (sqlite3_column_type(statement, column)) {
    case SQLITE_NULL: return std::monostate{};
    case SQLITE_INTEGER: return static_cast<int64_t>(sqlite3_column_int64(statement, column));
    case SQLITE_FLOAT: return sqlite3_column_double(statement, column);
    default: {
      const auto* text = sqlite3_column_text(statement, column);
      if (text == nullptr) return std::string();
      return std::string(reinterpret_cast<const char*>(text),
                         static_cast<size_t>(sqlite3_column_bytes(statement, column)));
    }
  }
}

Value real_or_null(double v) {
  if (std::isnan(v)) return std::monostate{};
  return v;
}

std::optional<double> as_number(const Value& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  return std::nullopt;
}

std::string format_value(const Value& v, int significant_digits) {
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v)) {
    if (significant_digits <= 0 || !std::isfinite(*d)) return format_number(*d);
    return fmt::format("{:.{}g}", *d, significant_digits);
  }
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return "";
}

namespace {

int rank(const Value& v) {
  if (is_null(v)) return 0;
  if (as_number(v)) return 1;
  return 2;
}

}  // namespace

bool value_less(const Value& a, const Value& b) {
  const int ra = rank(a), rb = rank(b);
  if (ra != rb) return ra < rb;
  if (ra == 1) return *as_number(a) < *as_number(b);
  if (ra == 2) return std::get<std::string>(a) < std::get<std::string>(b);
  return false;
}

bool value_equal(const Value& a, const Value& b) { return !value_less(a, b) && !value_less(b, a); }

}  // namespace vitsweep::report
