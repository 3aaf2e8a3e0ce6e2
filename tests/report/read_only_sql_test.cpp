// `sweep query` must not be able to change the results database: writes, schema changes, ATTACH,
// DETACH, transactions and state-changing PRAGMAs are refused with a message naming what was
// refused, before anything runs, and the file keeps every byte.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "report/read_only_sql.hpp"
#include "report/report_fixture.hpp"
#include "store/results_store.hpp"
#include "support/temp_dir.hpp"
#include "support/thrown.hpp"

namespace vitsweep::report {
namespace {

using ::testing::HasSubstr;
using vitsweep::testing::TempDir;

class ReadOnlySql : public ::testing::Test {
 protected:
  void SetUp() override { testing::build_fixture_database(path); }
  TempDir dir;
  std::string path = dir.file("results.db");
};

TEST_F(ReadOnlySql, RefusesEveryWriteWithAClearErrorAndLeavesTheFileUnchanged) {
  const std::string before = testing::read_file(path);
  ASSERT_FALSE(before.empty());
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"DROP TABLE trials", "DROP TABLE trials changes the schema"},
      {"DROP VIEW results", "DROP VIEW results changes the schema"},
      {"INSERT INTO sweeps (name, spec, created_at, updated_at) VALUES ('x', '{}', 0, 0)",
       "INSERT into sweeps writes"},
      {"UPDATE trials SET status = 'done'", "UPDATE of trials.status writes"},
      {"DELETE FROM metrics", "DELETE from metrics writes"},
      {"CREATE TABLE notes (a)", "CREATE TABLE notes changes the schema"},
      {"CREATE TEMP TABLE scratch (a)", "CREATE TABLE scratch changes the schema"},
      {"ALTER TABLE trials ADD COLUMN extra", "ALTER TABLE trials changes the schema"},
      {"ATTACH '" + dir.file("other.db") + "' AS other", "ATTACH"},
      {"DETACH main", "DETACH main"},
      {"PRAGMA user_version = 5", "PRAGMA user_version = 5 changes"},
      {"PRAGMA journal_mode = delete", "PRAGMA journal_mode = delete changes"},
      {"PRAGMA query_only = 0", "PRAGMA query_only = 0 changes"},
      {"PRAGMA wal_checkpoint", "PRAGMA wal_checkpoint is not one that only reports"},
      {"BEGIN", "transactions are not needed to read"},
      {"VACUUM", "the statement would write"},
      {"VACUUM INTO '" + dir.file("copy.db") + "'", "the statement would write"},
      {"SELECT 1; DROP TABLE trials", "one statement at a time"},
  };
  store::ResultsStore store(path, store::Database::Access::read_only);
  for (const auto& [sql, reason] : refused) {
    const std::string message =
        testing::thrown_message<UsageError>([&] { read_only_query(store.db(), sql); });
    EXPECT_THAT(message, HasSubstr(reason)) << sql;
    if (sql.rfind("SELECT 1;", 0) != 0) {
      EXPECT_THAT(message, HasSubstr("refused")) << sql;
    }
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("other.db")));
  EXPECT_FALSE(std::filesystem::exists(dir.file("copy.db")));
  // The connection still works, and it is still query-only.
  EXPECT_EQ(std::get<int64_t>(read_only_query(store.db(), "PRAGMA user_version").rows[0][0]), 1);
  EXPECT_EQ(std::get<int64_t>(read_only_query(store.db(), "PRAGMA query_only").rows[0][0]), 1);
  EXPECT_EQ(testing::read_file(path), before);
}

TEST_F(ReadOnlySql, SelectsAndReportingPragmasWork) {
  store::ResultsStore store(path, store::Database::Access::read_only);
  const ValueTable count = read_only_query(store.db(), "SELECT count(*) AS n FROM results -- all");
  ASSERT_EQ(count.columns, std::vector<std::string>{"n"});
  EXPECT_EQ(std::get<int64_t>(count.rows[0][0]), 11);
  const ValueTable info = read_only_query(store.db(), "PRAGMA table_info(epochs)");
  ASSERT_TRUE(info.find("name"));
  EXPECT_EQ(std::get<std::string>(info.rows[0][*info.find("name")]), "trial");
  const ValueTable columns =
      read_only_query(store.db(), "SELECT name FROM pragma_table_info('sweeps') ORDER BY cid");
  EXPECT_EQ(std::get<std::string>(columns.rows[1][0]), "name");
  const ValueTable cte = read_only_query(
      store.db(),
      "WITH RECURSIVE c(x) AS (VALUES (1) UNION ALL SELECT x + 1 FROM c WHERE x < 3) "
      "SELECT sum(x) FROM c");
  EXPECT_EQ(std::get<int64_t>(cte.rows[0][0]), 6);
  const ValueTable bound = read_only_query(
      store.db(), "SELECT test_acc FROM results WHERE trial = ?1", {Value(std::string("t01"))});
  EXPECT_EQ(std::get<double>(bound.rows[0][0]), 0.875);
}

TEST_F(ReadOnlySql, SyntaxErrorsAndUnknownColumnsAreUsageErrorsNamingTheProblem) {
  store::ResultsStore store(path, store::Database::Access::read_only);
  EXPECT_THAT(testing::thrown_message<UsageError>([&] { read_only_query(store.db(), "SELEC 1"); }),
              HasSubstr("syntax error"));
  EXPECT_THAT(testing::thrown_message<UsageError>(
                  [&] { read_only_query(store.db(), "SELECT accuracy FROM results"); }),
              HasSubstr("no such column: accuracy"));
  EXPECT_THAT(
      testing::thrown_message<UsageError>([&] { read_only_query(store.db(), "  -- nothing"); }),
      HasSubstr("no SQL statement"));
}

TEST(ReadingPragmas, OnlyReportingFormsAreAllowed) {
  EXPECT_TRUE(is_reading_pragma("user_version", false));
  EXPECT_FALSE(is_reading_pragma("user_version", true));
  EXPECT_TRUE(is_reading_pragma("TABLE_INFO", true));
  EXPECT_FALSE(is_reading_pragma("journal_mode", true));
  EXPECT_FALSE(is_reading_pragma("optimize", false));
  EXPECT_FALSE(is_reading_pragma("writable_schema", false));
}

}  // namespace
}  // namespace vitsweep::report
