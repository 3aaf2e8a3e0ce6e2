#include "report/trial_filter.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "common/error.hpp"
#include "common/text.hpp"
#include "report/read_only_sql.hpp"
#include "trial/status.hpp"

namespace vitsweep::report {

namespace {

std::vector<std::string> results_columns(store::Database& db) {
  return read_only_query(db, "SELECT * FROM results LIMIT 0").columns;
}

// Parentheses must balance outside quotes, so the expression cannot close the WHERE it is put
// into and continue the query ("1) UNION SELECT ... (").
bool balanced(const std::string& expression) {
  int depth = 0;
  char quote = 0;
  for (char c : expression) {
    if (quote) {
      if (c == quote) quote = 0;  // a doubled quote reopens at once: same effect
    } else if (c == '\'' || c == '"' || c == '`') {
      quote = c;
    } else if (c == '[') {
      quote = ']';
    } else if (c == '(') {
      ++depth;
    } else if (c == ')' && --depth < 0) {
      return false;
    }
  }
  return depth == 0 && quote == 0;
}

}  // namespace

void check_where(store::Database& db, const std::string& where) {
  if (where.empty()) return;
  const std::string what = fmt::format("--where \"{}\"", where);
  constexpr const char* kExpected =
      "expected one SQL expression over the columns of the results view (config keys such as "
      "attn, alpha, qk_norm, gate, seed; status; metrics such as test_acc, core_s; sweep query "
      "\"PRAGMA table_info(results)\" lists them), e.g. \"attn = 'relu' AND alpha >= 0.5\"";
  if (where.find(';') != std::string::npos)
    fail_usage("{}: ';' is not allowed; {}", what, kExpected);
  if (!balanced(where)) fail_usage("{}: unbalanced parentheses or quotes; {}", what, kExpected);
  // As a condition and as a value: only a lone expression compiles in both places.
  for (const std::string& sql : {fmt::format("SELECT 1 FROM results WHERE ({})", where),
                                 fmt::format("SELECT ({}) FROM results", where)}) {
    std::string problem = read_only_sql_problem(db, sql);
    if (problem.empty()) continue;
    constexpr std::string_view kNoSuchColumn = "no such column: ";
    if (problem.starts_with(kNoSuchColumn)) {
      problem += did_you_mean(problem.substr(kNoSuchColumn.size()), results_columns(db));
    }
    fail_usage("{}: {}; {}", what, problem, kExpected);
  }
}

std::vector<std::string> sweep_names(store::Database& db) {
  std::vector<std::string> names;
  for (const auto& row : read_only_query(db, "SELECT name FROM sweeps ORDER BY id").rows) {
    names.push_back(format_value(row[0]));
  }
  return names;
}

std::string results_from_clause(store::Database& db, const TrialFilter& filter,
                                std::vector<Value>& parameters) {
  check_where(db, filter.where);
  std::string sql = "FROM results WHERE 1";
  if (!filter.sweep.empty()) {
    resolve_sweep(db, filter.sweep);  // checks it exists
    parameters.emplace_back(filter.sweep);
    sql += fmt::format(" AND sweep = ?{}", parameters.size());
  }
  if (!filter.where.empty()) sql += fmt::format(" AND ({})", filter.where);
  return sql;
}

std::string resolve_sweep(store::Database& db, const std::string& sweep, const char* option) {
  const auto names = sweep_names(db);
  if (!sweep.empty()) {
    if (std::find(names.begin(), names.end(), sweep) == names.end()) {
      fail_usage("{}: no sweep named '{}' in {}{} (it has: {})", option, sweep, db.path(),
                 did_you_mean(sweep, names), names.empty() ? "none" : join(names));
    }
    return sweep;
  }
  if (names.size() == 1) return names.front();
  if (names.empty()) fail("{}: no sweeps stored yet (run `sweep run` first)", db.path());
  fail_usage("{}: {} holds {} sweeps ({}): choose one", option, db.path(), names.size(),
             join(names));
}

ValueTable done_trials(ValueTable results) {
  ValueTable done;
  done.columns = results.columns;
  done.notes = std::move(results.notes);
  const size_t status = results.index("status"), trial = results.index("trial");
  const std::string done_text(to_string(TrialStatus::done));
  std::set<std::string> seen;
  int64_t left_out = 0;
  for (auto& row : results.rows) {
    if (!seen.insert(format_value(row[trial])).second) continue;
    if (format_value(row[status]) == done_text)
      done.rows.push_back(std::move(row));
    else
      ++left_out;
  }
  if (left_out > 0) {
    std::vector<std::string> others;
    for (const TrialStatus s : kTrialStatuses) {
      if (s != TrialStatus::done) others.emplace_back(to_string(s));
    }
    done.notes.push_back(
        fmt::format("{} trial(s) not done ({}) are left out", left_out, join(others)));
  }
  return done;
}

}  // namespace vitsweep::report
