// The long, wide and pivot forms against golden CSV on the fixture database, the pivot's
// aggregates against hand-computed values, --only-changed, and --where checking.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "config/trial_config.hpp"
#include "report/csv.hpp"
#include "report/export_forms.hpp"
#include "report/report_fixture.hpp"
#include "store/results_store.hpp"
#include "store/schema.hpp"
#include "support/temp_dir.hpp"
#include "support/thrown.hpp"

namespace vitsweep::report {
namespace {

using ::testing::HasSubstr;
using vitsweep::testing::crlf;
using vitsweep::testing::TempDir;

class ExportForms : public ::testing::Test {
 protected:
  void SetUp() override { testing::build_fixture_database(path); }
  store::Database& db() {
    if (!store_)
      store_ = std::make_unique<store::ResultsStore>(path, store::Database::Access::read_only);
    return store_->db();
  }
  TempDir dir;
  std::string path = dir.file("results.db");
  std::unique_ptr<store::ResultsStore> store_;
};

TEST_F(ExportForms, LongFormGolden) {
  ValueTable table = export_long(db(), {"grid", "trial = 't04'"});
  drop_constant_config_columns(table);
  EXPECT_EQ(format_csv(table), crlf({
                                   "sweep,trial,epoch,step,name,value",
                                   "grid,t04,1,10,train_loss,2",
                                   "grid,t04,1,10,train_acc,0.25",
                                   "grid,t04,1,10,test_loss,1.5",
                                   "grid,t04,1,10,test_acc,0.25",
                                   "grid,t04,1,10,lr,0.001",
                                   "grid,t04,1,10,epoch_s,1.5",
                                   "grid,t04,1,10,img_per_s,100",
                                   "grid,t04,2,20,train_loss,1.5",
                                   "grid,t04,2,20,train_acc,0.5",
                                   "grid,t04,2,20,test_loss,1",
                                   "grid,t04,2,20,test_acc,0.5",
                                   "grid,t04,2,20,lr,0.0005",
                                   "grid,t04,2,20,epoch_s,1.5",
                                   "grid,t04,2,20,img_per_s,100",
                               }));
}

TEST_F(ExportForms, LongFormColumnsAreTrialThenEveryConfigKeyThenTheMetric) {
  const ValueTable table = export_long(db(), {"grid", ""});
  std::vector<std::string> expected = {"sweep", "trial"};
  for (const auto& key : config_key_names()) expected.push_back(key);
  for (const char* c : {"epoch", "step", "name", "value"}) expected.emplace_back(c);
  EXPECT_EQ(table.columns, expected);
  // 9 done trials x 2 epochs x 7 metrics, plus the running trial's first epoch.
  EXPECT_EQ(table.rows.size(), 9u * 2 * 7 + 7);
}

TEST_F(ExportForms, WideFormGoldenQuotesTheErrorText) {
  ValueTable table = export_wide(db(), {"grid", "attn = 'relu' AND alpha = 1 AND gate = 'none'"});
  drop_constant_config_columns(table);
  EXPECT_EQ(format_csv(table),
            crlf({
                "sweep,trial,status,qk_norm,seed,test_acc,test_loss,train_acc,train_loss,val_acc,"
                "val_loss,epochs_done,diverged_step,wall_s,core_s,img_per_s,params,flops_per_image,"
                "best_test_acc,best_epoch,attempts,error",
                "grid,t04,done,0,0,0.5,1,0.5,1.5,,,2,,3.5,7,100,1000,2000000,0.5,2,1,",
                "grid,t05,done,0,1,0.75,0.5,0.75,1.5,,,2,,4.5,9,100,1000,2000000,0.75,2,1,",
                "grid,t08,done,1,0,0.625,0.75,0.625,1.5,,,2,,5,10,100,1000,2000000,0.625,2,1,",
                "grid,t09,failed,1,1,,,,,,,0,,0,0,,,,,,1,\"step 3: loss is \"\"nan\"\", "
                "stopped\nsecond line of the log\"",
            }));
}

TEST_F(ExportForms, WideFormColumnsAreStable) {
  const ValueTable table = export_wide(db(), {"", ""});
  std::vector<std::string> expected = {"sweep", "trial", "status"};
  for (const auto& key : config_key_names()) expected.push_back(key);
  for (const auto& m : store::final_metric_columns()) expected.push_back(m);
  for (const char* c : {"best_test_acc", "best_epoch", "attempts", "error"})
    expected.emplace_back(c);
  EXPECT_EQ(table.columns, expected);
  EXPECT_EQ(table.rows.size(), 11u);
}

TEST_F(ExportForms, PivotGolden) {
  PivotSpec spec;
  spec.rows = {"alpha"};
  spec.cols = {"attn"};
  const ValueTable table = export_pivot(db(), {"grid", "qk_norm = 0 AND gate = 'none'"}, spec);
  EXPECT_EQ(format_csv(table),
            crlf({
                "alpha,attn=relu:mean,attn=relu:std,attn=relu:n,attn=softmax:mean,attn=softmax:std,"
                "attn=softmax:n",
                ",,,0,0.8125,0.08838834764831845,2",
                "0.5,0.5625,0.08838834764831845,2,,,0",
                "1,0.625,0.1767766952966369,2,,,0",
            }));
  EXPECT_TRUE(table.notes.empty()) << table.notes.front();
}

TEST_F(ExportForms, PivotAggregatesMatchHandComputedValues) {
  PivotSpec spec;
  spec.rows = {"qk_norm", "alpha"};
  spec.value = "core_s";
  spec.aggregates = parse_aggregates("mean,std,n,min,max");
  const ValueTable table = export_pivot(db(), {"grid", "attn = 'relu' AND gate = 'none'"}, spec);
  ASSERT_EQ(table.columns,
            (std::vector<std::string>{"qk_norm", "alpha", "core_s:mean", "core_s:std", "core_s:n",
                                      "core_s:min", "core_s:max"}));
  ASSERT_EQ(table.rows.size(), 3u);
  // qk_norm off, alpha 1: core_s 7 and 9 -> mean 8, sample std sqrt(((7-8)^2 + (9-8)^2) / 1).
  const auto& off_1 = table.rows[1];
  EXPECT_EQ(std::get<double>(off_1[1]), 1.0);
  EXPECT_DOUBLE_EQ(std::get<double>(off_1[2]), 8.0);
  EXPECT_DOUBLE_EQ(std::get<double>(off_1[3]), std::sqrt(2.0));
  EXPECT_EQ(std::get<int64_t>(off_1[4]), 2);
  EXPECT_DOUBLE_EQ(std::get<double>(off_1[5]), 7.0);
  EXPECT_DOUBLE_EQ(std::get<double>(off_1[6]), 9.0);
  // qk_norm on, alpha 1: one done trial (its second seed failed): std is undefined, left empty.
  const auto& on_1 = table.rows[2];
  EXPECT_EQ(std::get<int64_t>(on_1[0]), 1);
  EXPECT_DOUBLE_EQ(std::get<double>(on_1[2]), 10.0);
  EXPECT_TRUE(is_null(on_1[3]));
  EXPECT_EQ(std::get<int64_t>(on_1[4]), 1);
  EXPECT_THAT(table.notes.front(), HasSubstr("1 trial(s) not done"));
}

TEST_F(ExportForms, PivotSaysWhenCellsPoolDifferentSettings) {
  PivotSpec spec;
  spec.rows = {"alpha"};
  const ValueTable table = export_pivot(db(), {"grid", "attn = 'relu'"}, spec);
  ASSERT_FALSE(table.notes.empty());
  EXPECT_THAT(table.notes.back(), HasSubstr("cells pool trials that differ in qk_norm, gate"));
}

TEST_F(ExportForms, PivotRejectsUnknownKeysAndAggregates) {
  PivotSpec spec;
  spec.rows = {"alpah"};
  EXPECT_THAT(
      testing::thrown_message<UsageError>([&] {
        export_pivot(db(), {"grid", ""}, spec);
      }),
      HasSubstr("--rows: 'alpah' is not a column of the results view (did you mean 'alpha'?)"));
  EXPECT_THAT(testing::thrown_message<UsageError>([&] { parse_aggregates("mean,median"); }),
              HasSubstr("unknown aggregate 'median'"));
}

TEST_F(ExportForms, BadWhereExpressionsAreClearUsageErrors) {
  auto where_error = [&](const std::string& where) {
    return testing::thrown_message<UsageError>([&] { export_wide(db(), {"grid", where}); });
  };
  EXPECT_THAT(where_error("alpah > 1"),
              HasSubstr("--where \"alpah > 1\": no such column: alpah (did you mean 'alpha'?)"));
  EXPECT_THAT(where_error("attn = "), HasSubstr("syntax error"));
  EXPECT_THAT(where_error("1; DROP TABLE trials"), HasSubstr("';' is not allowed"));
  EXPECT_THAT(where_error("1) UNION SELECT * FROM results WHERE (1"),
              HasSubstr("unbalanced parentheses"));
  EXPECT_THAT(where_error("1 FROM results"), HasSubstr("--where"));
  EXPECT_THAT(testing::thrown_message<UsageError>([&] {
                export_wide(db(), {"gird", ""});
              }),
              HasSubstr("no sweep named 'gird' in"));
  // A good one narrows the rows.
  EXPECT_EQ(export_wide(db(), {"grid", "attn = 'softmax' AND test_acc > 0.8"}).rows.size(), 1u);
}

TEST_F(ExportForms, OnlyChangedKeepsVaryingConfigColumnsAndEveryOtherColumn) {
  ValueTable table = export_wide(db(), {"grid", "attn = 'softmax'"});
  drop_constant_config_columns(table);
  EXPECT_TRUE(table.find("seed"));
  EXPECT_FALSE(table.find("attn"));
  EXPECT_FALSE(table.find("width"));
  EXPECT_TRUE(table.find("test_acc"));
  EXPECT_TRUE(table.find("error"));  // not a config column: kept though always empty here
}

}  // namespace
}  // namespace vitsweep::report
