// `sweep query`, `sweep export`, `sweep report` and `sweep status` as a user runs them: exit
// codes, output forms, refusals that leave the file byte for byte unchanged.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "report/report_fixture.hpp"
#include "support/process.hpp"

namespace vitsweep {
namespace {

using ::testing::HasSubstr;
using testing::run_sweep;

class ReportCli : public ::testing::Test {
 protected:
  void SetUp() override { testing::build_fixture_database(db); }
  testing::TempDir dir;
  std::string db = dir.file("results.db");
};

TEST_F(ReportCli, QueryPrintsEachFormat) {
  const std::string sql =
      "SELECT trial, attn, test_acc FROM results WHERE status = 'done' "
      "ORDER BY position LIMIT 2";
  const auto csv = run_sweep({"query", sql, "--db", db, "--format", "csv"}, dir.path());
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(csv.out, "trial,attn,test_acc\r\nt00,softmax,0.75\r\nt01,softmax,0.875\r\n");
  const auto json = run_sweep({"query", sql, "--db", db, "--format", "json"}, dir.path());
  EXPECT_THAT(json.out,
              HasSubstr("\"trial\": \"t00\",\n    \"attn\": \"softmax\",\n    \"test_acc\": 0.75"));
  const auto md = run_sweep({"query", sql, "--db", db, "--format", "markdown"}, dir.path());
  EXPECT_THAT(md.out,
              HasSubstr("| trial | attn | test_acc |\n|---|---|---:|\n| t00 | softmax | 0.75 |"));
  const auto table = run_sweep({"query", sql, "--db", db}, dir.path());
  EXPECT_THAT(
      table.out,
      HasSubstr("trial  attn     test_acc\n-----  -------  --------\nt00    softmax      0.75\n"));
  EXPECT_THAT(table.out, HasSubstr("(2 rows)"));
  const auto bad = run_sweep({"query", sql, "--db", db, "--format", "xml"}, dir.path());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("unknown format 'xml' (expected table, csv, json or markdown)"));
}

TEST_F(ReportCli, RefusedQueriesExitTwoAndLeaveTheFileUnchanged) {
  const std::string before = testing::read_file(db);
  for (const char* sql :
       {"DROP TABLE trials", "PRAGMA user_version=5", "PRAGMA journal_mode=delete",
        "UPDATE trials SET status='done'", "ATTACH 'x.db' AS x"}) {
    const auto r = run_sweep({"query", sql, "--db", db}, dir.path());
    EXPECT_EQ(r.exit_code, 2) << sql;
    EXPECT_THAT(r.err, HasSubstr("refused")) << sql;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
  }
  EXPECT_EQ(testing::read_file(db), before);
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.db")));
}

TEST_F(ReportCli, ExportWritesCsvToAFileAndNotesToStderr) {
  const auto r = run_sweep(
      {"export", "--db", db, "--sweep", "grid", "--form", "pivot", "--rows", "alpha", "--cols",
       "attn", "--agg", "mean,n", "--where", "qk_norm = 0 AND gate = 'none'", "-o", "pivot.csv"},
      dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(testing::read_file(dir.file("pivot.csv")),
            "alpha,attn=relu:mean,attn=relu:n,attn=softmax:mean,attn=softmax:n\r\n"
            ",,0,0.8125,2\r\n0.5,0.5625,2,,0\r\n1,0.625,2,,0\r\n");
  const auto fig4 =
      run_sweep({"export", "--db", db, "--table", "fig4", "--precision", "3"}, dir.path());
  ASSERT_EQ(fig4.exit_code, 0) << fig4.err;
  EXPECT_THAT(fig4.out, HasSubstr("relu,1,silu,2,0.812,0.0884,10,1.41,0.25\r\n"));
  EXPECT_THAT(fig4.err, HasSubstr("note: gate silu: +25.0% CPU core-seconds per trial"));
}

TEST_F(ReportCli, ExportUsageErrorsExitTwo) {
  const auto where = run_sweep({"export", "--db", db, "--where", "bogus > 1"}, dir.path());
  EXPECT_EQ(where.exit_code, 2);
  EXPECT_THAT(where.err, HasSubstr("--where \"bogus > 1\": no such column: bogus"));
  const auto form = run_sweep({"export", "--db", db, "--form", "tall"}, dir.path());
  EXPECT_EQ(form.exit_code, 2);
  EXPECT_THAT(form.err, HasSubstr("unknown form 'tall'"));
  const auto both =
      run_sweep({"export", "--db", db, "--form", "wide", "--table", "fig2"}, dir.path());
  EXPECT_EQ(both.exit_code, 2);
  const auto missing = run_sweep({"export", "--db", dir.file("none.db")}, dir.path());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("no such results database"));
}

TEST_F(ReportCli, ReportWritesTheFolderAndNamesSkippedFigures) {
  const auto r = run_sweep({"report", "--db", db, "-o", "out"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("grid: 4 figures in out/index.html"));
  EXPECT_THAT(r.out, HasSubstr("skipped fig1: every trial has the same model size"));
  EXPECT_THAT(r.out, HasSubstr("skipped fig2: the sweep varies qk_norm"));
  EXPECT_TRUE(std::filesystem::exists(dir.file("out/fig3-1.svg")));
}

TEST_F(ReportCli, CompareGivesPairedDifferencesInEachFormat) {
  // relu against softmax at alpha 1, qk-norm off, no gate: seeds 0 and 1 give 0.5 - 0.75 and
  // 0.75 - 0.875: mean -0.1875, se 0.0625, t(1) = 12.7062.
  const std::vector<std::string> args = {"compare",
                                         "--db",
                                         db,
                                         "--key",
                                         "attn",
                                         "--a",
                                         "softmax",
                                         "--b",
                                         "relu",
                                         "--where",
                                         "qk_norm = 0 AND gate = 'none' AND (alpha = 1 OR attn = "
                                         "'softmax')"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> all = args;
    all.insert(all.end(), extra.begin(), extra.end());
    return run_sweep(all, dir.path());
  };
  const auto csv = with({"--format", "csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_THAT(csv.out, ::testing::StartsWith("n,a_mean,b_mean,diff,se,ci_low,ci_high,verdict\r\n"
                                             "2,0.8125,0.625,-0.1875,0.06"));
  EXPECT_THAT(csv.out, HasSubstr(",-0.98163779601"));  // -0.1875 - 12.7062 * 0.0625
  EXPECT_THAT(csv.out, ::testing::EndsWith(",interval holds 0\r\n"));
  EXPECT_THAT(csv.err, HasSubstr("note: pooled per-trial std of test_acc in sweep grid:"));
  const auto json = with({"--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"verdict\": \"interval holds 0\""));
  EXPECT_THAT(json.out, HasSubstr("\"pooled_std\": "));
  const auto table = with({});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("test_acc, relu - softmax: pairs of trials that differ only in "
                                   "attn"));
  EXPECT_THAT(table.out, HasSubstr("interval holds 0"));
  const auto bad = with({"--by", "alpah"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--by: 'alpah' is not a setting of the results view (did you "
                                 "mean 'alpha'?)"));
  EXPECT_EQ(bad.err.find('\n'), bad.err.size() - 1) << "one line: " << bad.err;
  // --help shows how it is called.
  const auto help = run_sweep({"compare", "--help"}, dir.path());
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("Examples:\n  sweep compare --key attn --a softmax --b relu"));
}

TEST_F(ReportCli, StatusShowsRunningAndFailedTrials) {
  const auto r = run_sweep({"status", "--db", db}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("grid: 9/11 done, 1 running, 1 failed"));
  EXPECT_THAT(r.out, HasSubstr("running  t10"));
  EXPECT_THAT(r.out, HasSubstr("failed   t09"));
  const auto unknown = run_sweep({"status", "--db", db, "--sweep", "nope"}, dir.path());
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("no sweep named 'nope'"));
}

}  // namespace
}  // namespace vitsweep
