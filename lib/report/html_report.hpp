// `sweep report`: a folder a browser opens, for one sweep: index.html with every figure of
// paper_figures.hpp (SVG files beside it), its table and a CSV of it, notes on how it was
// computed, and at the end the figures not drawn, each with why. The page is also
// well-formed XML (every element closed), so tests can parse it.
#pragma once

#include <string>
#include <vector>

#include "store/database.hpp"

namespace vitsweep::report {

struct ReportFiles {
  std::string index;                 // DIR/index.html
  std::vector<std::string> figures;  // SVG files written
  std::vector<std::string> skipped;  // "fig3: qk_norm does not vary in this sweep"
};

// Writes the report of `sweep` into `dir` (created if needed; files of an earlier report with the
// same names are replaced).
ReportFiles write_report(store::Database& db, const std::string& sweep, const std::string& dir);

}  // namespace vitsweep::report
