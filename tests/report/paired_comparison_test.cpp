// Seed-paired comparisons on a hand-made sweep with exact binary fractions, so every mean,
// standard error and interval below is worked out by hand (t quantiles from the tables:
// t(0.975, 1) = 12.7062047, t(0.975, 2) = 4.30265273). The Student t quantile itself is checked
// against table values and the closed forms for 1 and 2 degrees of freedom.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "common/error.hpp"
#include "report/model_selection.hpp"
#include "report/paired_comparison.hpp"
#include "report/paper_figures.hpp"
#include "report/report_fixture.hpp"
#include "report/student_t.hpp"
#include "support/temp_dir.hpp"

namespace vitsweep::report {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using vitsweep::testing::StoredTrial;
using vitsweep::testing::TempDir;

constexpr double kT1 = 12.706204736174707, kT2 = 4.302652729749464;

TEST(StudentT, QuantilesMatchTheTables) {
  // Two-sided 95% (p = 0.975), from tables of Student's t, to the 10-11 digits they agree on.
  const std::vector<std::pair<double, double>> table = {
      {1, 12.706204736174707},  {2, 4.302652729749464},   {3, 3.182446305284263},
      {4, 2.7764451051977934},  {5, 2.570581835636314},   {10, 2.2281388519649385},
      {30, 2.0422724563012373}, {100, 1.9839715184496334}};
  for (const auto& [dof, t] : table) {
    EXPECT_NEAR(student_t_quantile(0.975, dof), t, 1e-9 * t) << dof << " dof";
    EXPECT_NEAR(student_t_quantile(0.025, dof), -t, 1e-9 * t) << dof << " dof";
    EXPECT_NEAR(student_t_cdf(t, dof), 0.975, 1e-10) << dof << " dof";
  }
  // Many degrees of freedom: the normal quantile 1.9599640 plus z (1 + z^2) / (4 dof) = 1.9599642.
  EXPECT_NEAR(student_t_quantile(0.975, 1e7), 1.9599642, 1e-7);
  EXPECT_EQ(student_t_quantile(0.5, 3), 0);
}

TEST(StudentT, ClosedFormsForOneAndTwoDegreesOfFreedom) {
  // dof 1 is the Cauchy distribution: tan(pi (p - 1/2)); dof 2: (2p - 1) / sqrt(2 p (1 - p)).
  for (double p : {0.6, 0.9, 0.95, 0.99, 0.9995}) {
    const double cauchy = std::tan(M_PI * (p - 0.5));
    EXPECT_NEAR(student_t_quantile(p, 1), cauchy, 1e-10 * cauchy) << p;
    const double two = (2 * p - 1) / std::sqrt(2 * p * (1 - p));
    EXPECT_NEAR(student_t_quantile(p, 2), two, 1e-10 * two) << p;
  }
}

TEST(MeanInterval, HalfWidthIsTTimesTheStandardError) {
  // 10, 11, 12: mean 11, std 1, se 1/sqrt(3); 11 -+ 4.3027 / sqrt(3) = [8.52, 13.48].
  const MeanInterval m = mean_interval({10, 11, 12});
  EXPECT_EQ(m.n, 3);
  EXPECT_DOUBLE_EQ(m.mean, 11);
  EXPECT_NEAR(m.se, 1 / std::sqrt(3.0), 1e-15);
  EXPECT_NEAR(m.high - m.mean, kT2 / std::sqrt(3.0), 1e-12);
  EXPECT_FALSE(m.holds_zero());
  // 1, 2, 3: mean 2, the same half-width 2.48: the interval [-0.48, 4.48] holds zero.
  EXPECT_TRUE(mean_interval({1, 2, 3}).holds_zero());
  const MeanInterval one = mean_interval({0.5});
  EXPECT_FALSE(one.defined());
  EXPECT_TRUE(std::isnan(one.low));
}

TEST(PooledStd, WeighsEachGroupByItsDegreesOfFreedom) {
  // {1, 3}: 1 dof, squares 2; {2, 4, 6}: 2 dof, squares 8; {5}: nothing. sqrt(10 / 3).
  const PooledStd p = pooled_std({{1, 3}, {2, 4, 6}, {5}});
  EXPECT_EQ(p.groups, 2);
  EXPECT_EQ(p.values, 5);
  EXPECT_EQ(p.dof, 3);
  EXPECT_NEAR(p.std, std::sqrt(10.0 / 3), 1e-15);
  EXPECT_TRUE(std::isnan(pooled_std({{1}, {2}}).std));
}

ComparisonSpec spec(const std::string& key, const std::string& a, const std::string& b,
                    const std::string& metric = "test_acc") {
  ComparisonSpec s;
  s.key = key;
  s.a = a;
  s.b = b;
  s.metric = metric;
  return s;
}

OrderedJson trial(const std::string& attn, double alpha, int seed, int64_t scale_length = 0) {
  OrderedJson id = {{"dataset", "synthetic"}, {"width", 32}, {"patch", 4}, {"attn", attn}};
  if (attn != "softmax") id["alpha"] = alpha;
  if (attn != "softmax" && scale_length > 0) id["scale_length"] = scale_length;
  id["epochs"] = 2;
  id["seed"] = seed;
  return id;
}

// Sweep "pairs" (test_acc):
//   softmax            seeds 0-2: 0.5, 0.625, 0.75
//   relu alpha 0.5     seeds 0-2: 0.75, 0.8125, 1         (B - A: 1/4, 3/16, 1/4)
//   relu alpha 1       seeds 0-3: 0.625, 0.875, 0.75, 0.5 (1/8, 1/4, 0; seed 3 has no softmax)
//   relu alpha 1, L 4  seeds 0-1: 0.5625, 0.625           (1/16, 0)
//   gelu alpha 1       seed 0: 0.5625; with scale_length 4, seed 0: 0.4375
// Synthetic 16x16 images in patches of 4: 16 keys, so scale_length 4 is a constant of its own
// (16 would be the same trial as 0).
const std::vector<StoredTrial> kPairs = {
    {trial("softmax", 0, 0), 0.5},    {trial("softmax", 0, 1), 0.625},
    {trial("softmax", 0, 2), 0.75},   {trial("relu", 0.5, 0), 0.75},
    {trial("relu", 0.5, 1), 0.8125},  {trial("relu", 0.5, 2), 1},
    {trial("relu", 1, 0), 0.625},     {trial("relu", 1, 1), 0.875},
    {trial("relu", 1, 2), 0.75},      {trial("relu", 1, 3), 0.5},
    {trial("relu", 1, 0, 4), 0.5625}, {trial("relu", 1, 1, 4), 0.625},
    {trial("gelu", 1, 0), 0.5625},    {trial("gelu", 1, 0, 4), 0.4375},
};

class PairedComparison : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_sweep_database(path, "pairs", kPairs);
    store = std::make_unique<store::ResultsStore>(path, store::Database::Access::read_only);
  }
  Comparison compare(const ComparisonSpec& s) {
    return compare_paired(store->db(), {"pairs", ""}, s);
  }
  // The value of `column` in row `row`, as a double (NaN for NULL).
  static double cell(const Comparison& c, size_t row, const std::string& column) {
    return as_number(c.table.rows.at(row).at(c.table.index(column))).value_or(NAN);
  }
  static std::string text(const Comparison& c, size_t row, const std::string& column) {
    return format_value(c.table.rows.at(row).at(c.table.index(column)));
  }
  TempDir dir;
  std::string path = dir.file("pairs.db");
  std::unique_ptr<store::ResultsStore> store;
};

TEST_F(PairedComparison, SoftmaxAgainstReluPairsEachAlphaWithTheSameSoftmaxTrials) {
  const Comparison c = compare(spec("attn", "softmax", "relu"));
  EXPECT_THAT(c.table.columns, ElementsAre("alpha", "scale_length", "n", "a_mean", "b_mean", "diff",
                                           "se", "ci_low", "ci_high", "verdict"));
  ASSERT_EQ(c.table.rows.size(), 3u);
  // alpha 0.5: differences 1/4, 3/16, 1/4: mean 11/48, std sqrt(1/768), se 1/48; the interval
  // 11/48 -+ t(2)/48 lies above zero.
  EXPECT_EQ(text(c, 0, "alpha"), "0.5");
  EXPECT_EQ(text(c, 0, "scale_length"), "0");  // applies to relu: 0, the number of keys
  EXPECT_EQ(cell(c, 0, "n"), 3);
  EXPECT_DOUBLE_EQ(cell(c, 0, "a_mean"), 0.625);
  EXPECT_DOUBLE_EQ(cell(c, 0, "diff"), 11.0 / 48);
  EXPECT_NEAR(cell(c, 0, "se"), 1.0 / 48, 1e-15);
  EXPECT_NEAR(cell(c, 0, "ci_low"), (11 - kT2) / 48, 1e-12);
  EXPECT_NEAR(cell(c, 0, "ci_high"), (11 + kT2) / 48, 1e-12);
  EXPECT_EQ(text(c, 0, "verdict"), "relu > softmax");
  // alpha 1: 1/8, 1/4, 0: mean 1/8, std 1/8, se 1/(8 sqrt 3); the interval holds zero.
  EXPECT_EQ(cell(c, 1, "n"), 3);
  EXPECT_DOUBLE_EQ(cell(c, 1, "diff"), 0.125);
  EXPECT_NEAR(cell(c, 1, "se"), 0.125 / std::sqrt(3.0), 1e-15);
  EXPECT_NEAR(cell(c, 1, "ci_low"), 0.125 - kT2 * 0.125 / std::sqrt(3.0), 1e-12);
  EXPECT_LT(cell(c, 1, "ci_low"), 0);
  EXPECT_EQ(text(c, 1, "verdict"), "interval holds 0");
  // alpha 1 with scale_length 4: 1/16, 0: mean 1/32, se 1/32, t with one dof.
  EXPECT_EQ(text(c, 2, "scale_length"), "4");
  EXPECT_EQ(cell(c, 2, "n"), 2);
  EXPECT_NEAR(cell(c, 2, "ci_high"), (1 + kT1) / 32, 1e-12);
  // Relu seed 3 has no softmax partner: named, not dropped silently.
  EXPECT_THAT(c.table.notes,
              Contains(HasSubstr("1 trial(s) with attn=relu have no partner with attn=softmax")));
  EXPECT_THAT(c.table.notes, Contains(HasSubstr("h09 (alpha=1, scale_length=0, seed=3)")));
}

TEST_F(PairedComparison, ADefaultScaleLengthMatchesOnlyItself) {
  // relu against gelu: gelu (scale_length 0) pairs with relu at 0, not with relu at 4, though
  // both show scale_length as NULL in the results view.
  const Comparison c = compare(spec("attn", "relu", "gelu"));
  ASSERT_EQ(c.table.rows.size(), 2u);
  EXPECT_THAT(c.table.columns, ElementsAre("scale_length", "n", "a_mean", "b_mean", "diff", "se",
                                           "ci_low", "ci_high", "verdict"));
  EXPECT_EQ(text(c, 0, "scale_length"), "0");
  EXPECT_DOUBLE_EQ(cell(c, 0, "a_mean"), 0.625);
  EXPECT_DOUBLE_EQ(cell(c, 0, "b_mean"), 0.5625);
  EXPECT_EQ(text(c, 1, "scale_length"), "4");
  EXPECT_DOUBLE_EQ(cell(c, 1, "a_mean"), 0.5625);
  EXPECT_DOUBLE_EQ(cell(c, 1, "b_mean"), 0.4375);
  // One pair each: a mean difference, but no spread and so no interval.
  for (size_t r : {0u, 1u}) {
    EXPECT_EQ(cell(c, r, "n"), 1);
    EXPECT_TRUE(std::isnan(cell(c, r, "se")));
    EXPECT_TRUE(std::isnan(cell(c, r, "ci_low")));
    EXPECT_EQ(text(c, r, "verdict"), "n = 1: no interval");
  }
  EXPECT_THAT(c.table.notes, Contains(HasSubstr("7 trial(s) with attn=relu have no partner")));
}

TEST(TrialSettings, AScaleLengthEqualToTheNumberOfKeysDoesNotMakeTheKeyInapplicable) {
  // Fashion-MNIST in patches of 7 and 4: 16 and 49 keys. scale_length 16 is a constant of its own
  // at 49 keys but the same as the default at 16, where 49 is one of its own again. The default
  // trials at 16 keys have scale_length 0 and pair only with each other, not with gelu at 49.
  auto fashion = [](const std::string& attn, int64_t patch, int64_t scale_length) {
    OrderedJson id = {{"dataset", "fashion-mnist"},
                      {"width", 32},
                      {"patch", patch},
                      {"attn", attn},
                      {"alpha", 1}};
    if (scale_length > 0) id["scale_length"] = scale_length;
    id["epochs"] = 2;
    id["seed"] = 0;
    return id;
  };
  TempDir dir;
  const std::string path = dir.file("lengths.db");
  testing::write_sweep_database(path, "lengths",
                                {{fashion("relu", 4, 16), 0.5},
                                 {fashion("gelu", 4, 16), 0.625},
                                 {fashion("relu", 7, 0), 0.75},
                                 {fashion("gelu", 7, 0), 0.875},
                                 {fashion("gelu", 7, 49), 0.5}});
  store::ResultsStore store(path, store::Database::Access::read_only);
  const TrialRows trials = load_done_trials(store.db(), {"lengths", ""});
  const TrialSettings settings(store.db(), trials);
  for (size_t r : {2u, 3u}) {
    EXPECT_TRUE(settings.get(r, "scale_length").applies) << r;
    EXPECT_EQ(format_value(settings.get(r, "scale_length").value), "0") << r;
  }
  ComparisonSpec s = spec("attn", "relu", "gelu");
  const Comparison c = compare_paired(store.db(), {"lengths", ""}, s);
  int64_t pairs = 0;
  for (const auto& row : c.table.rows) pairs += std::get<int64_t>(row.at(c.table.index("n")));
  EXPECT_EQ(pairs, 2);
  EXPECT_THAT(c.table.notes, Contains(HasSubstr("1 trial(s) with attn=gelu have no partner")));
}

// A softmax trial stored by two sweeps keeps the config of the first: one holds alpha 0, the
// others alpha 1 (the value every relu trial has). Alpha applies to none of them, so tuning lr
// per side sees one softmax combination, not two.
TEST(TrialSettings, AKeyThatNeverAppliesDoesNotApplyAtTheValueOthersHave) {
  auto trial = [](const std::string& attn, double lr, int seed) {
    OrderedJson id = {{"dataset", "fashion-mnist"}, {"width", 32}, {"patch", 7}, {"attn", attn}};
    if (attn != "softmax") id["alpha"] = 1;
    id["lr"] = lr;
    id["epochs"] = 2;
    id["seed"] = seed;
    return id;
  };
  auto with_alpha = [](OrderedJson config, double alpha) {
    config["alpha"] = alpha;
    return config;
  };
  TempDir dir;
  const std::string path = dir.file("shared.db");
  std::vector<StoredTrial> stored;
  for (int seed : {0, 1}) {
    stored.push_back({trial("softmax", 0.001, seed), 0.75, 0.75, 10,
                      with_alpha(trial("softmax", 0.001, seed), 0)});
    stored.push_back({trial("softmax", 0.003, seed), 0.875, 0.875, 10,
                      with_alpha(trial("softmax", 0.003, seed), 1)});
    stored.push_back({trial("relu", 0.001, seed), 0.5, 0.5});
    stored.push_back({trial("relu", 0.003, seed), 0.625, 0.625});
  }
  testing::write_sweep_database(path, "shared", stored);
  store::ResultsStore store(path, store::Database::Access::read_only);
  const TrialRows trials = load_done_trials(store.db(), {"shared", ""});
  const TrialSettings settings(store.db(), trials);
  for (size_t r = 0; r < trials.size(); ++r) {
    const bool softmax = format_value(trials.at(r, "attn")) == "softmax";
    EXPECT_EQ(settings.get(r, "alpha").applies, !softmax) << r;
  }
  ComparisonSpec s = spec("attn", "softmax", "relu");
  s.tune = "lr";
  const Comparison c = compare_paired(store.db(), {"shared", ""}, s);
  ASSERT_EQ(c.table.rows.size(), 1u);
  EXPECT_EQ(format_value(c.table.rows[0].at(c.table.index("a_lr"))), "0.003");
  EXPECT_EQ(std::get<int64_t>(c.table.rows[0].at(c.table.index("n"))), 2);
}

TEST_F(PairedComparison, PoolingOverAlphaReusesSoftmaxTrialsAndSaysSo) {
  ComparisonSpec s = spec("attn", "softmax", "relu");
  s.pool = true;
  const Comparison c = compare(s);
  ASSERT_EQ(c.table.rows.size(), 1u);
  EXPECT_EQ(cell(c, 0, "n"), 8);  // 3 + 3 + 2 pairs
  EXPECT_THAT(c.table.notes,
              Contains(HasSubstr("use one trial in several pairs (its partners differ in alpha, "
                                 "scale_length)")));
}

TEST_F(PairedComparison, PooledStdIsOverCellsThatDifferOnlyInSeed) {
  const Comparison c = compare(spec("attn", "softmax", "relu"));
  // Cells with two or more seeds: softmax (squares 1/32), relu 0.5 (0.0338542), relu 1
  // (0.078125), relu 1 at L 4 (1/512); 8 dof; gelu's single trials add nothing.
  ASSERT_EQ(c.noise.rows.size(), 1u);
  const auto& row = c.noise.rows[0];
  EXPECT_EQ(format_value(row[c.noise.index("cells")]), "4");
  EXPECT_EQ(format_value(row[c.noise.index("trials")]), "12");
  EXPECT_EQ(format_value(row[c.noise.index("dof")]), "8");
  const double squares = 1.0 / 32 +
                         (0.75 * 0.75 + 0.8125 * 0.8125 + 1 - 3 * std::pow(2.5625 / 3, 2)) +
                         0.078125 + 1.0 / 512;
  EXPECT_NEAR(*as_number(row[c.noise.index("pooled_std")]), std::sqrt(squares / 8), 1e-12);
  EXPECT_NEAR(*as_number(row[c.noise.index("pooled_std")]), 0.13471372037893295, 1e-12);
}

TEST_F(PairedComparison, TuningPicksTheBestAlphaPerSideAndNotesTheTestSelection) {
  ComparisonSpec s = spec("attn", "softmax", "relu");
  s.tune = "alpha";
  const Comparison c = compare(s);
  // Without a validation split the pick is on test_acc: relu at scale_length 0 is best at alpha
  // 0.5 (mean 0.854 against 0.6875), at 4 there is only alpha 1.
  ASSERT_EQ(c.table.rows.size(), 2u);
  EXPECT_THAT(c.table.columns, ElementsAre("scale_length", "a_alpha", "b_alpha", "n", "a_mean",
                                           "b_mean", "diff", "se", "ci_low", "ci_high", "verdict"));
  EXPECT_EQ(text(c, 0, "a_alpha"), "");
  EXPECT_EQ(text(c, 0, "b_alpha"), "0.5");
  EXPECT_DOUBLE_EQ(cell(c, 0, "diff"), 11.0 / 48);
  EXPECT_EQ(text(c, 1, "b_alpha"), "1");
  EXPECT_THAT(c.table.notes, Contains(HasSubstr("picked on test_acc, which flatters it")));
  // relu at scale_length 0 picked between 3 seeds (alpha 0.5) and 4 (alpha 1), as in a sweep
  // still running; at scale_length 4 it had one value, and softmax none.
  EXPECT_THAT(c.table.notes,
              Contains(HasSubstr("attn = relu: 1 of 2 combination(s) picked alpha among means over "
                                 "different numbers of trials")));
  EXPECT_THAT(c.table.notes, Not(Contains(HasSubstr("attn = softmax:"))));
}

TEST_F(PairedComparison, TheBestTableNotesPicksAmongUnequalNumbersOfSeeds) {
  const TrialRows trials = load_done_trials(store->db(), {"pairs", ""});
  const TrialSettings settings(store->db(), trials);
  const ValueTable best = best_table(trials, settings, {});
  ASSERT_EQ(best.rows.size(), 5u);  // softmax; relu and gelu, each at scale_length 0 and 4
  EXPECT_THAT(best.notes, Contains(HasSubstr("1 of 5 combination(s) picked alpha among means "
                                             "over different numbers of trials")));
}

TEST_F(PairedComparison, BadOptionsNameTheProblem) {
  auto message = [&](const ComparisonSpec& s) {
    try {
      compare(s);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(
      message(spec("atn", "softmax", "relu")),
      HasSubstr("--key: 'atn' is not a setting of the results view (did you mean 'attn'?)"));
  EXPECT_THAT(message(spec("attn", "softmax", "relu2")),
              HasSubstr("--b: no done trial with attn = relu2 and a test_acc (values of attn: "
                        "softmax, relu, gelu)"));
  EXPECT_THAT(message(spec("attn", "softmax", "relu", "test_accuracy")),
              HasSubstr("--metric: 'test_accuracy' is not a metric"));
  EXPECT_THAT(message(spec("alpha", "0.5", "one")), HasSubstr("--b"));
  EXPECT_THAT(message(spec("attn", "relu", "relu")), HasSubstr("both are attn=relu"));
}

TEST(ModelSelection, PicksOnValidationAndReportsTest) {
  TempDir dir;
  const std::string path = dir.file("val.db");
  auto with_val = [](OrderedJson id) {
    id["val_fraction"] = 0.125;
    return id;
  };
  // On test, alpha 0.5 looks best (0.875 twice); on validation alpha 1 is (0.75 against 0.5).
  testing::write_sweep_database(path, "val",
                                {{with_val(trial("softmax", 0, 0)), 0.5, 0.5},
                                 {with_val(trial("softmax", 0, 1)), 0.5625, 0.5},
                                 {with_val(trial("relu", 0.5, 0)), 0.875, 0.5},
                                 {with_val(trial("relu", 0.5, 1)), 0.875, 0.5},
                                 {with_val(trial("relu", 1, 0)), 0.625, 0.75},
                                 {with_val(trial("relu", 1, 1)), 0.75, 0.75}});
  store::ResultsStore store(path, store::Database::Access::read_only);
  const TrialRows trials = load_done_trials(store.db(), {"val", ""});
  const TrialSettings settings(store.db(), trials);
  const ValueTable best = best_table(trials, settings, {});
  EXPECT_THAT(best.columns, ElementsAre("attn", "alpha", "candidates", "n", "val_acc", "test_acc",
                                        "test_acc_std", "test_acc_ci_low", "test_acc_ci_high"));
  ASSERT_EQ(best.rows.size(), 2u);        // softmax, relu
  EXPECT_TRUE(is_null(best.rows[0][1]));  // softmax has no alpha to pick
  EXPECT_TRUE(is_null(best.rows[0][2]));
  const auto& relu = best.rows[1];
  EXPECT_EQ(format_value(relu[1]), "1");
  EXPECT_EQ(format_value(relu[2]), "2");
  EXPECT_DOUBLE_EQ(*as_number(relu[4]), 0.75);
  EXPECT_DOUBLE_EQ(*as_number(relu[5]), 0.6875);
  // 0.6875 -+ t(1) * std / sqrt 2, std = 0.0883883 (0.625 and 0.75).
  EXPECT_NEAR(*as_number(relu[7]), 0.6875 - kT1 * 0.0625, 1e-12);
  ComparisonSpec s = spec("attn", "softmax", "relu");
  s.tune = "alpha";
  const Comparison c = compare_trials(trials, settings, s);
  ASSERT_EQ(c.table.rows.size(), 1u);
  EXPECT_EQ(format_value(c.table.rows[0][c.table.index("b_alpha")]), "1");
  // Differences 0.125 and 0.1875: mean 0.15625, se 1/32.
  EXPECT_DOUBLE_EQ(*as_number(c.table.rows[0][c.table.index("diff")]), 0.15625);
  EXPECT_THAT(c.table.notes, Contains(HasSubstr("its value with the best mean val_acc")));
  // Both alphas have two seeds: nothing to warn of.
  EXPECT_THAT(best.notes, Not(Contains(HasSubstr("different numbers of trials"))));
  EXPECT_THAT(c.table.notes, Not(Contains(HasSubstr("different numbers of trials"))));
}

}  // namespace
}  // namespace vitsweep::report
