// CSV as RFC 4180 defines it: records end with CRLF; a field holding a comma, a double quote, CR
// or LF is enclosed in double quotes, with each double quote inside doubled. Spreadsheets and
// every CSV reader (Python's csv, pandas, R's read.csv) read it back unchanged.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "report/value_table.hpp"

namespace vitsweep::report {

std::string csv_field(std::string_view text);

// One record, CRLF-terminated.
std::string csv_record(const std::vector<std::string>& fields);

// Header record, then one record per row; NULL is an empty field, reals are written with
// `significant_digits` (0: shortest exact form).
std::string format_csv(const ValueTable& table, int significant_digits = 0);

}  // namespace vitsweep::report
