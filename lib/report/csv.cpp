#include "report/csv.hpp"

namespace vitsweep::report {

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + '"';
}

std::string csv_record(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line += ',';
    line += csv_field(fields[i]);
  }
  return line + "\r\n";
}

std::string format_csv(const ValueTable& table, int significant_digits) {
  std::string out = csv_record(table.columns);
  std::vector<std::string> fields;
  for (const auto& row : table.rows) {
    fields.clear();
    for (const Value& v : row) fields.push_back(format_value(v, significant_digits));
    out += csv_record(fields);
  }
  return out;
}

}  // namespace vitsweep::report
