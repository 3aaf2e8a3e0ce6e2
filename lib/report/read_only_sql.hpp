// SQL a user typed, run against a results database with no way to change it. Three guards, each
// enough on its own for the common cases:
//   1. the connection is read-only with PRAGMA query_only (store::Database::Access::read_only);
//   2. an authorizer (sqlite3_set_authorizer) allows only reading while the statement compiles:
//      SELECT, reading columns, functions, recursive CTEs and PRAGMAs that only report
//      (table_info, table_list, user_version without a value, ...). ATTACH, DETACH, writes, schema
//      changes, transactions and state-changing PRAGMAs (user_version = 5, journal_mode = delete)
//      are refused with a message saying what was refused and why, before anything runs;
//   3. sqlite3_stmt_readonly must report that the compiled statement does not write (this catches
//      VACUUM, which has no authorizer action).
// One statement per call: "SELECT 1; DROP TABLE x" is refused as a whole.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "report/value_table.hpp"
#include "store/database.hpp"

namespace vitsweep::report {

// Runs `sql` (parameters bound to ?1, ?2, ...) and returns every row. `what` names the SQL in
// errors ("query", "--where \"...\""). Refused or invalid SQL is a UsageError; a failure while
// running is an Error. `db` must be opened read-only.
ValueTable read_only_query(store::Database& db, std::string_view sql,
                           const std::vector<Value>& parameters = {},
                           std::string_view what = "query");

// Compiles `sql` under the same guards without running it: why it would be refused or fails to
// compile ("no such column: x", "refused: ..."), or "" when it is fine.
std::string read_only_sql_problem(store::Database& db, std::string_view sql);

// The PRAGMAs a query may use: they only report. With a value (`user_version = 5`) only the ones
// taking a table or index name (table_info(results)) are allowed.
bool is_reading_pragma(std::string_view name, bool has_argument);

}  // namespace vitsweep::report
