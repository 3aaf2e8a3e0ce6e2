// Which trials an export, a figure table or a report covers: one sweep's (or every sweep's) rows
// of the `results` view, narrowed by a --where expression. The expression is the user's SQL, so
// it is checked before use: one expression over the columns of `results` (no ';'), compiled
// under the read-only guards of read_only_sql.hpp, with a clear error naming the problem and the
// columns that exist.
#pragma once

#include <string>
#include <vector>

#include "report/value_table.hpp"
#include "store/database.hpp"

namespace vitsweep::report {

struct TrialFilter {
  std::string sweep;  // empty: every sweep
  std::string where;  // empty: no condition
};

// Throws a UsageError when `where` is not a single valid expression over `results`.
void check_where(store::Database& db, const std::string& where);

// "FROM results WHERE sweep = ?1 AND (...)": the filter as SQL, its parameters in `parameters`.
// Checks the where expression and that the sweep exists.
std::string results_from_clause(store::Database& db, const TrialFilter& filter,
                                std::vector<Value>& parameters);

// `filter.sweep` when given; else the only sweep in the database; else a UsageError listing the
// sweeps (for commands that need exactly one).
std::string resolve_sweep(store::Database& db, const std::string& sweep,
                          const char* option = "--sweep");

// The names of every sweep, in creation order.
std::vector<std::string> sweep_names(store::Database& db);

// The rows of `results` (rows of the results view with its trial and status columns) whose trial
// is done, each trial once (one linked into several sweeps has a row per sweep); a note counts
// the trials left out.
ValueTable done_trials(ValueTable results);

}  // namespace vitsweep::report
