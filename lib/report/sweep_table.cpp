#include "report/sweep_table.hpp"

#include <fmt/format.h>

#include <cmath>

#include "common/text.hpp"
#include "config/trial_config.hpp"

namespace vitsweep::report {

std::vector<std::string> varying_keys(store::Database& db, const std::string& sweep) {
  std::vector<std::string> keys;
  for (const KeyDescription& key : config_keys()) {
    // NULL counts as a value of its own (alpha under softmax is NULL, under relu a number).
    store::Statement s = db.prepare(fmt::format(
        "SELECT count(DISTINCT coalesce(quote({0}), 'NULL')) FROM results WHERE sweep = ?",
        key.name));
    s.bind(1, sweep);
    if (s.step() && s.integer(0) > 1) keys.push_back(key.name);
  }
  return keys;
}

TextTable sweep_results_table(store::Database& db, const std::string& sweep) {
  TextTable table;
  const std::vector<std::string> keys = varying_keys(db, sweep);
  table.header = {"#", "trial"};
  for (const auto& k : keys) table.header.push_back(k);
  for (const char* c : {"status", "test_acc", "test_loss", "epochs", "wall_s"}) {
    table.header.push_back(c);
  }
  std::string select = "SELECT position, trial";
  for (const auto& k : keys) select += ", " + k;
  select +=
      ", status, test_acc, test_loss, epochs_done, wall_s, error FROM results WHERE sweep = ? "
      "ORDER BY position";
  store::Statement s = db.prepare(select);
  s.bind(1, sweep);
  while (s.step()) {
    std::vector<std::string> row;
    int c = 0;
    row.push_back(std::to_string(s.integer(c++)));
    row.push_back(s.text(c++).substr(0, 8));
    for (size_t k = 0; k < keys.size(); ++k, ++c) {
      if (s.is_null(c))
        row.push_back("-");
      else if (s.type(c) == SQLITE_FLOAT)
        row.push_back(format_number(s.real(c)));
      else
        row.push_back(s.text(c));
    }
    const std::string status = s.text(c++);
    const double acc = s.real(c++), loss = s.real(c++);
    const int64_t epochs = s.integer(c++);
    const double wall = s.real(c++);
    row.push_back(status);
    row.push_back(std::isfinite(acc) ? fmt::format("{:.2f}%", 100 * acc) : "-");
    row.push_back(std::isfinite(loss) ? fmt::format("{:.4f}", loss) : "-");
    row.push_back(std::to_string(epochs));
    row.push_back(std::isfinite(wall) ? fmt::format("{:.0f}", wall) : "-");
    table.rows.push_back(std::move(row));
  }
  return table;
}

}  // namespace vitsweep::report
