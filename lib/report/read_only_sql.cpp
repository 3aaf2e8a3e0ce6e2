#include "report/read_only_sql.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>

#include "common/error.hpp"

namespace vitsweep::report {

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string shorten(std::string_view sql) {
  std::string one_line;
  for (char c : sql) one_line += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  while (!one_line.empty() && one_line.back() == ' ') one_line.pop_back();
  return one_line.size() > 70 ? one_line.substr(0, 67) + "..." : one_line;
}

const char* text_or(const char* text, const char* fallback) { return text ? text : fallback; }

// Why the authorizer said no (the first refusal wins: later ones are consequences).
struct Refusal {
  std::string reason;
};

std::string describe_refusal(int action, const char* a1, const char* a2) {
  const char* name = text_or(a1, "?");
  switch (action) {
    case SQLITE_ATTACH:
      return fmt::format("ATTACH '{}' would open another database file", text_or(a1, ""));
    case SQLITE_DETACH: return fmt::format("DETACH {} changes the connection", name);
    case SQLITE_PRAGMA:
      return a2 ? fmt::format("PRAGMA {} = {} changes the database or the connection", name, a2)
                : fmt::format("PRAGMA {} is not one that only reports", name);
    case SQLITE_INSERT: return fmt::format("INSERT into {} writes", name);
    case SQLITE_UPDATE: return fmt::format("UPDATE of {}.{} writes", name, text_or(a2, "?"));
    case SQLITE_DELETE: return fmt::format("DELETE from {} writes", name);
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_TEMP_TABLE: return fmt::format("DROP TABLE {} changes the schema", name);
    case SQLITE_DROP_VIEW:
    case SQLITE_DROP_TEMP_VIEW: return fmt::format("DROP VIEW {} changes the schema", name);
    case SQLITE_DROP_INDEX:
    case SQLITE_DROP_TEMP_INDEX: return fmt::format("DROP INDEX {} changes the schema", name);
    case SQLITE_DROP_TRIGGER:
    case SQLITE_DROP_TEMP_TRIGGER: return fmt::format("DROP TRIGGER {} changes the schema", name);
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_TEMP_TABLE: return fmt::format("CREATE TABLE {} changes the schema", name);
    case SQLITE_CREATE_VIEW:
    case SQLITE_CREATE_TEMP_VIEW: return fmt::format("CREATE VIEW {} changes the schema", name);
    case SQLITE_CREATE_INDEX:
    case SQLITE_CREATE_TEMP_INDEX: return fmt::format("CREATE INDEX {} changes the schema", name);
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_TEMP_TRIGGER:
      return fmt::format("CREATE TRIGGER {} changes the schema", name);
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_VTABLE: return fmt::format("virtual table {} changes the schema", name);
    case SQLITE_ALTER_TABLE:
      return fmt::format("ALTER TABLE {} changes the schema", text_or(a2, name));
    case SQLITE_REINDEX: return "REINDEX writes";
    case SQLITE_ANALYZE: return "ANALYZE writes statistics tables";
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT: return "transactions are not needed to read";
    default: return fmt::format("statement kind {} is not a read", action);
  }
}

bool is_schema_table(const char* table) {
  if (table == nullptr) return false;
  const std::string name = lower(table);
  return name == "sqlite_master" || name == "sqlite_schema" || name == "sqlite_temp_master" ||
         name == "sqlite_temp_schema";
}

int authorize(void* user, int action, const char* a1, const char* a2, const char*, const char*) {
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE: return SQLITE_OK;
    case SQLITE_PRAGMA:
      if (a1 && is_reading_pragma(a1, a2 != nullptr)) return SQLITE_OK;
      break;
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
      // SQLite reports writes to the schema table while compiling table-valued PRAGMAs
      // (SELECT * FROM pragma_table_info('results')), and before the specific action of a DDL
      // statement (DROP TABLE reports DELETE from sqlite_master, then DROP_TABLE). DDL is refused
      // by its own action; a real write to the schema table fails sqlite3_stmt_readonly.
      if (is_schema_table(a1)) return SQLITE_OK;
      break;
    default: break;
  }
  auto* refusal = static_cast<Refusal*>(user);
  if (refusal->reason.empty()) refusal->reason = describe_refusal(action, a1, a2);
  return SQLITE_DENY;
}

// Installs the authorizer for as long as it lives (statements are also re-checked when SQLite
// recompiles them after a schema change while stepping).
class AuthorizerScope {
 public:
  AuthorizerScope(sqlite3* db, Refusal* refusal) : db_(db) {
    sqlite3_set_authorizer(db_, authorize, refusal);
  }
  ~AuthorizerScope() { sqlite3_set_authorizer(db_, nullptr, nullptr); }
  AuthorizerScope(const AuthorizerScope&) = delete;
  AuthorizerScope& operator=(const AuthorizerScope&) = delete;

 private:
  sqlite3* db_;
};

struct Finalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StatementPtr = std::unique_ptr<sqlite3_stmt, Finalize>;

constexpr const char* kAllowed =
    "only reading statements run here: SELECT, WITH ... SELECT, VALUES, and PRAGMAs that report "
    "(table_info, table_list, user_version without a value)";

// Compiles one statement under the guards (the caller installs the authorizer). On failure
// returns null and says why in `problem`.
StatementPtr compile(store::Database& db, std::string_view sql, Refusal& refusal,
                     std::string& problem) {
  if (db.access() != store::Database::Access::read_only) {
    fail("internal: user SQL must run on a read-only connection ({})", db.path());
  }
  sqlite3* handle = db.handle();
  sqlite3_stmt* raw = nullptr;
  const char* tail = nullptr;
  const int rc = sqlite3_prepare_v2(handle, sql.data(), static_cast<int>(sql.size()), &raw, &tail);
  StatementPtr statement(raw);
  if (!refusal.reason.empty()) {
    problem = fmt::format("refused: {}; {}", refusal.reason, kAllowed);
  } else if (rc != SQLITE_OK) {
    problem = sqlite3_errmsg(handle);
  } else if (!statement) {
    problem = "no SQL statement";
  } else if (!sqlite3_stmt_readonly(statement.get())) {
    problem = fmt::format("refused: the statement would write; {}", kAllowed);
  } else if (tail != nullptr && *tail != '\0') {
    // Anything after the first statement but blanks and comments compiles to a statement (or
    // fails to compile).
    const std::string_view rest = sql.substr(static_cast<size_t>(tail - sql.data()));
    sqlite3_set_authorizer(handle, nullptr, nullptr);
    sqlite3_stmt* next = nullptr;
    const int rest_rc =
        sqlite3_prepare_v2(handle, rest.data(), static_cast<int>(rest.size()), &next, nullptr);
    sqlite3_set_authorizer(handle, authorize, &refusal);
    const bool more = next != nullptr || rest_rc != SQLITE_OK;
    sqlite3_finalize(next);
    if (more) {
      problem =
          fmt::format("one statement at a time: found `{}` after the first ';'", shorten(rest));
    }
  }
  if (!problem.empty()) statement.reset();
  return statement;
}

void bind(sqlite3_stmt* statement, int index, const Value& v) {
  if (const auto* i = std::get_if<int64_t>(&v))
    sqlite3_bind_int64(statement, index, *i);
  else if (const auto* d = std::get_if<double>(&v))
    sqlite3_bind_double(statement, index, *d);
  else if (const auto* s = std::get_if<std::string>(&v)) {
    sqlite3_bind_text(statement, index, s->data(), static_cast<int>(s->size()), SQLITE_TRANSIENT);
  } else {
    sqlite3_bind_null(statement, index);
  }
}

}  // namespace

bool is_reading_pragma(std::string_view name, bool has_argument) {
  // Take a table or index name (or an error limit) and report on it.
  static constexpr std::array<std::string_view, 10> kWithArgument = {
      "table_info",  "table_xinfo",      "table_list",        "index_list",      "index_info",
      "index_xinfo", "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check"};
  // Report a value; with an argument most of these would set it.
  static constexpr std::array<std::string_view, 17> kWithoutArgument = {
      "user_version", "schema_version", "application_id", "journal_mode",  "page_size",
      "page_count",   "freelist_count", "encoding",       "foreign_keys",  "query_only",
      "data_version", "database_list",  "collation_list", "function_list", "module_list",
      "pragma_list",  "compile_options"};
  const std::string key = lower(name);
  const auto listed = [&](const auto& list) {
    return std::find(list.begin(), list.end(), key) != list.end();
  };
  return listed(kWithArgument) || (!has_argument && listed(kWithoutArgument));
}

std::string read_only_sql_problem(store::Database& db, std::string_view sql) {
  Refusal refusal;
  AuthorizerScope scope(db.handle(), &refusal);
  std::string problem;
  compile(db, sql, refusal, problem);
  return problem;
}

ValueTable read_only_query(store::Database& db, std::string_view sql,
                           const std::vector<Value>& parameters, std::string_view what) {
  Refusal refusal;
  AuthorizerScope scope(db.handle(), &refusal);
  std::string problem;
  StatementPtr statement = compile(db, sql, refusal, problem);
  if (!statement) fail_usage("{}: {} (in `{}`)", what, problem, shorten(sql));
  sqlite3_stmt* s = statement.get();
  for (size_t i = 0; i < parameters.size(); ++i) bind(s, static_cast<int>(i + 1), parameters[i]);
  ValueTable table;
  const int columns = sqlite3_column_count(s);
  for (int c = 0; c < columns; ++c) table.columns.emplace_back(sqlite3_column_name(s, c));
  while (true) {
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      if (!refusal.reason.empty())
        fail_usage("{}: refused: {}; {}", what, refusal.reason, kAllowed);
      store::fail_sqlite(db.handle(), rc, db.path(), fmt::format("{} `{}`", what, shorten(sql)));
    }
    std::vector<Value> row;
    row.reserve(static_cast<size_t>(columns));
    for (int c = 0; c < columns; ++c) row.push_back(column_value(s, c));
    table.rows.push_back(std::move(row));
  }
  return table;
}

}  // namespace vitsweep::report
