// The table a researcher looks at after a sweep: one row per trial, the config keys that vary
// across the sweep, status and final metrics. Read from the `results` view.
#pragma once

#include <string>

#include "report/text_table.hpp"
#include "store/database.hpp"

namespace vitsweep::report {

TextTable sweep_results_table(store::Database& db, const std::string& sweep);

// Config keys whose value differs between the trials of a sweep (in key order).
std::vector<std::string> varying_keys(store::Database& db, const std::string& sweep);

}  // namespace vitsweep::report
