// The figure tables on the fixture (hand-computed means, stds and the gate's overhead), figures
// skipped when their data is missing or the sweep was not designed for them, captions that
// promise only what is drawn, the scaling figure and its table (best alpha on validation, with
// intervals), and the written report: well-formed SVG and HTML with one line per series and one
// marker per point.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "report/csv.hpp"
#include "report/figure_parts.hpp"
#include "report/html_report.hpp"
#include "report/paper_figures.hpp"
#include "report/report_fixture.hpp"
#include "report/xml_check.hpp"
#include "store/results_store.hpp"
#include "support/temp_dir.hpp"

namespace vitsweep::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using vitsweep::testing::crlf;
using vitsweep::testing::TempDir;

// How many of `elements` have class `cls`.
size_t count_class(const std::vector<testing::XmlElement>& elements, const std::string& cls) {
  size_t n = 0;
  for (const auto& e : elements) n += e.attribute("class") == cls;
  return n;
}

// How many of `elements` are <name class="cls">.
size_t count_elements(const std::vector<testing::XmlElement>& elements, const std::string& name,
                      const std::string& cls) {
  size_t n = 0;
  for (const auto& e : elements) n += e.name == name && e.attribute("class") == cls;
  return n;
}

class PaperFigures : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::build_fixture_database(path);
    store = std::make_unique<store::ResultsStore>(path, store::Database::Access::read_only);
  }
  TempDir dir;
  std::string path = dir.file("results.db");
  std::unique_ptr<store::ResultsStore> store;
  const TrialFilter grid{"grid", ""};
};

TEST_F(PaperFigures, Fig2IsAccuracyPerAlphaAndHWithSoftmaxAsReference) {
  const Figure f = paper_figure(store->db(), grid, "fig2");
  ASSERT_TRUE(f.skipped.empty()) << f.skipped;
  // relu at alpha 0.5: 0.5 and 0.625; at 1: 0.5 and 0.75; softmax: 0.75 and 0.875. Held at
  // qk_norm off and gate none, which leaves out t06-t08.
  EXPECT_EQ(format_csv(f.table), crlf({
                                     "alpha,relu,relu_std,softmax,softmax_std",
                                     "0.5,0.5625,0.08838834764831845,0.8125,0.08838834764831845",
                                     "1,0.625,0.1767766952966369,0.8125,0.08838834764831845",
                                 }));
  EXPECT_THAT(f.table.notes, ::testing::Contains(HasSubstr("qk_norm held at its default")));
  EXPECT_THAT(f.table.notes, ::testing::Contains(HasSubstr("2 trial(s) not done")));
  ASSERT_EQ(f.plots.size(), 1u);
  ASSERT_EQ(f.plots[0].series.size(), 2u);
  EXPECT_EQ(f.plots[0].series[0].label, "relu");
  EXPECT_EQ(f.plots[0].series[0].points.size(), 2u);
  EXPECT_DOUBLE_EQ(f.plots[0].series[0].points[1].y, 62.5);  // percent
  EXPECT_TRUE(f.plots[0].series[1].reference);
}

TEST_F(PaperFigures, Fig3ComparesQkNormOffAndOn) {
  const Figure f = paper_figure(store->db(), grid, "fig3");
  ASSERT_TRUE(f.skipped.empty()) << f.skipped;
  EXPECT_EQ(format_csv(f.table),
            crlf({
                "attn,alpha,qk_norm_off,qk_norm_off_std,qk_norm_on,qk_norm_on_std",
                "softmax,,0.8125,0.08838834764831845,,", "relu,0.5,0.5625,0.08838834764831845,,",
                "relu,1,0.625,0.1767766952966369,0.625,",  // one seed on: no std
            }));
}

TEST_F(PaperFigures, Fig4MeasuresTheGatesComputeOverhead) {
  const Figure f = paper_figure(store->db(), grid, "fig4");
  ASSERT_TRUE(f.skipped.empty()) << f.skipped;
  // relu alpha 1: core_s 7, 9 without the gate (mean 8) and 9, 11 with it (mean 10): +25%.
  EXPECT_EQ(format_csv(f.table),
            crlf({
                "attn,alpha,gate,n,test_acc,test_acc_std,core_s,core_s_std,core_s_overhead",
                "softmax,,none,2,0.8125,0.08838834764831845,12,2.8284271247461903,",
                "relu,0.5,none,2,0.5625,0.08838834764831845,8,0,",
                "relu,1,none,2,0.625,0.1767766952966369,8,1.4142135623730951,",
                "relu,1,silu,2,0.8125,0.08838834764831845,10,1.4142135623730951,0.25",
            }));
  EXPECT_THAT(f.table.notes,
              ::testing::Contains(
                  HasSubstr("gate silu: +25.0% CPU core-seconds per trial against gate none (2 "
                            "gated and 2 ungated trials")));
  ASSERT_EQ(f.plots.size(), 2u);  // accuracy, and compute
  EXPECT_THAT(f.plots[1].title, HasSubstr("core-seconds per trial, as run (gate silu: +25.0%)"));
  EXPECT_EQ(f.plots[0].series[1].label, "relu, gate=silu (+25.0%)");
  // Trials' core-seconds are a cost only under equal load: the caption says so.
  EXPECT_THAT(f.caption, HasSubstr("only if the trials compared ran under the same load"));
}

TEST_F(PaperFigures, Fig1IsSkippedWithOneModelSize) {
  const Figure f = paper_figure(store->db(), grid, "fig1");
  EXPECT_THAT(f.skipped, HasSubstr("every trial has the same model size"));
  EXPECT_TRUE(f.plots.empty());
}

TEST_F(PaperFigures, TrainingCurvesAverageSeedsPerEpoch) {
  const TrialRows trials = load_done_trials(store->db(), grid);
  const Figure f = training_curves(store->db(), grid, trials);
  ASSERT_TRUE(f.skipped.empty()) << f.skipped;
  // Five groups (softmax; relu 0.5; relu 1; relu 1 + gate; relu 1 + qk_norm): one chart.
  ASSERT_EQ(f.plots.size(), 1u);
  ASSERT_EQ(f.plots[0].series.size(), 5u);
  const PlotSeries& softmax = f.plots[0].series[0];
  ASSERT_EQ(softmax.points.size(), 2u);
  EXPECT_DOUBLE_EQ(softmax.points[0].y, 100 * (0.375 + 0.4375) / 2);  // epoch 1: half the final
  EXPECT_DOUBLE_EQ(softmax.points[1].y, 81.25);
}

TEST_F(PaperFigures, Fig3CaptionPromisesSoftmaxOnlyWhenItIsDrawn) {
  const Figure with = paper_figure(store->db(), grid, "fig3");
  EXPECT_THAT(with.caption, HasSubstr("softmax as black horizontal reference lines"));
  const Figure without = paper_figure(store->db(), {"grid", "attn = 'relu'"}, "fig3");
  ASSERT_TRUE(without.skipped.empty()) << without.skipped;
  EXPECT_THAT(without.caption, Not(HasSubstr("softmax")));
}

TEST_F(PaperFigures, ReportIsWellFormedWithOneLinePerSeriesAndOneMarkerPerPoint) {
  const ReportFiles files = write_report(store->db(), "grid", dir.file("report"));
  const std::string html = testing::read_file(files.index);
  std::vector<testing::XmlElement> page;
  ASSERT_EQ(testing::check_xml(html, &page), "");
  EXPECT_THAT(html, HasSubstr("<p>Trials: 9/11 done, 1 running, 1 failed."));  // as `sweep status`
  EXPECT_THAT(html, HasSubstr("Not drawn: Fig. 1: accuracy vs compute across model sizes: every "
                              "trial has the same model size"));
  // The sweep varies qk_norm and gate: its alpha curves are Fig. 3's and Fig. 4's, not a
  // Fig. 2 of the qk-norm-off, ungated slice.
  EXPECT_THAT(html, HasSubstr("Not drawn: Fig. 2: accuracy vs alpha for each h: the sweep varies "
                              "qk_norm: its accuracy-vs-alpha curves are in Fig. 3"));
  size_t images = 0;
  for (const auto& e : page) images += e.name == "img";
  EXPECT_EQ(images, files.figures.size());
  // fig3, fig4 (accuracy and compute), curves; the best-alpha table has no plot.
  EXPECT_EQ(files.figures.size(), 4u);
  EXPECT_FALSE(std::filesystem::exists(dir.file("report/fig2-1.svg")));
  EXPECT_THAT(html, HasSubstr("<section id=\"best\">"));
  for (const auto& svg : files.figures) {
    std::vector<testing::XmlElement> elements;
    EXPECT_EQ(testing::check_xml(testing::read_file(svg), &elements), "") << svg;
    EXPECT_EQ(elements.front().name, "svg") << svg;
  }
  // fig3: relu with qk-norm off (alphas 0.5, 1) and on (alpha 1), the softmax reference.
  std::vector<testing::XmlElement> fig3;
  ASSERT_EQ(testing::check_xml(testing::read_file(dir.file("report/fig3-1.svg")), &fig3), "");
  EXPECT_EQ(count_elements(fig3, "polyline", "series-line"), 3u);
  EXPECT_EQ(count_class(fig3, "point"), 3u);
  EXPECT_TRUE(std::filesystem::exists(dir.file("report/fig3.csv")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("report/curves.csv")));
}

OrderedJson length_trial(const std::string& attn, double alpha, int64_t patch, int seed,
                         int64_t scale_length = 0) {
  OrderedJson id = {{"dataset", "fashion-mnist"}, {"width", 32}, {"patch", patch}, {"attn", attn}};
  if (attn != "softmax") id["alpha"] = alpha;
  if (scale_length > 0) id["scale_length"] = scale_length;
  id["val_fraction"] = 0.125;
  id["epochs"] = 2;
  id["seed"] = seed;
  return id;
}

// Sweep "lengths": patch 7 and 4 on 28x28 images (L = 16 and 49 keys), alpha 0.5 and 1, relu,
// sigmoid and softmax, 2 seeds, a validation split; relu at patch 4 also with scale_length 16
// (one seed). Test and validation accuracy (test / val):
//   softmax p7 .8125/.75 .875/.75            softmax p4 .75/.75 .8125/.75
//   relu p7 a0.5 .75/.5 .8125/.5             relu p7 a1 .625/.75 .75/.625
//   relu p4 a0.5 .625/.75 .75/.75            relu p4 a1 .5/.5 .5625/.5
//   relu p4 L16 a0.5 .5625/.625              relu p4 L16 a1 .5/.5
//   sigmoid p7 a0.5 .5/.5 .5625/.5           sigmoid p7 a1 .625/.5 .625/.5625
//   sigmoid p4 a0.5 .5/.5 .5/.5              sigmoid p4 a1 .5625/.5 .625/.5
const std::vector<testing::StoredTrial> kLengths = {
    {length_trial("softmax", 0, 7, 0), 0.8125, 0.75},
    {length_trial("softmax", 0, 7, 1), 0.875, 0.75},
    {length_trial("softmax", 0, 4, 0), 0.75, 0.75},
    {length_trial("softmax", 0, 4, 1), 0.8125, 0.75},
    {length_trial("relu", 0.5, 7, 0), 0.75, 0.5},
    {length_trial("relu", 0.5, 7, 1), 0.8125, 0.5},
    {length_trial("relu", 1, 7, 0), 0.625, 0.75},
    {length_trial("relu", 1, 7, 1), 0.75, 0.625},
    {length_trial("relu", 0.5, 4, 0), 0.625, 0.75},
    {length_trial("relu", 0.5, 4, 1), 0.75, 0.75},
    {length_trial("relu", 1, 4, 0), 0.5, 0.5},
    {length_trial("relu", 1, 4, 1), 0.5625, 0.5},
    {length_trial("relu", 0.5, 4, 0, 16), 0.5625, 0.625},
    {length_trial("relu", 1, 4, 0, 16), 0.5, 0.5},
    {length_trial("sigmoid", 0.5, 7, 0), 0.5, 0.5},
    {length_trial("sigmoid", 0.5, 7, 1), 0.5625, 0.5},
    {length_trial("sigmoid", 1, 7, 0), 0.625, 0.5},
    {length_trial("sigmoid", 1, 7, 1), 0.625, 0.5625},
    {length_trial("sigmoid", 0.5, 4, 0), 0.5, 0.5},
    {length_trial("sigmoid", 0.5, 4, 1), 0.5, 0.5},
    {length_trial("sigmoid", 1, 4, 0), 0.5625, 0.5},
    {length_trial("sigmoid", 1, 4, 1), 0.625, 0.5},
};

class LengthSweep : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_sweep_database(path, "lengths", kLengths);
    store = std::make_unique<store::ResultsStore>(path, store::Database::Access::read_only);
  }
  TempDir dir;
  std::string path = dir.file("lengths.db");
  std::unique_ptr<store::ResultsStore> store;
  const TrialFilter lengths{"lengths", ""};
};

// Row `row` of `table` as CSV text (shortest exact numbers, NULL empty).
std::string csv_row(const ValueTable& table, size_t row) {
  ValueTable one{table.columns, {table.rows.at(row)}, {}};
  const std::string csv = format_csv(one);
  const size_t start = csv.find("\r\n") + 2;
  return csv.substr(start, csv.size() - start - 2);
}

TEST_F(LengthSweep, ScalingTablePicksAlphaOnValidationPerHAndLength) {
  const Figure f = paper_figure(store->db(), lengths, "scaling");
  ASSERT_TRUE(f.skipped.empty()) << f.skipped;
  EXPECT_EQ(format_csv(ValueTable{f.table.columns, {}, {}}),
            crlf({"attn,patch,L,scale_length,alpha,c,candidates,n,val_acc,test_acc,test_acc_ci_low,"
                  "test_acc_ci_high,test_acc_alpha1,diff_vs_alpha1,diff_ci_low,diff_ci_high"}));
  // Softmax at L = 16 and 49; relu at 16, 49 and 49 with scale_length 16; sigmoid at 16 and 49.
  ASSERT_EQ(f.table.rows.size(), 7u);
  const double t1 = 12.706204736174707;
  // Softmax at L = 49: no alpha; validation 0.75, test 0.78125.
  EXPECT_EQ(csv_row(f.table, 1).rfind("softmax,4,49,,,,,2,0.75,0.78125,", 0), 0u)
      << csv_row(f.table, 1);
  // relu at L = 16: validation picks alpha 1 (0.6875 against 0.5) although test favours 0.5;
  // c = 1/16; the best is alpha 1 itself, so no difference from it.
  const auto& relu16 = f.table.rows[2];
  EXPECT_EQ(format_value(relu16[0]), "relu");
  EXPECT_EQ(format_value(relu16[2]), "16");
  EXPECT_EQ(format_value(relu16[4]), "1");
  EXPECT_DOUBLE_EQ(*as_number(relu16[5]), 1.0 / 16);
  EXPECT_DOUBLE_EQ(*as_number(relu16[9]), 0.6875);
  EXPECT_TRUE(is_null(relu16[13]));
  // relu at L = 49: validation picks alpha 0.5 (0.75 against 0.5); c = 49^-0.5 = 1/7; test 0.625
  // and 0.75; paired by seed against alpha 1 (0.5, 0.5625): 0.125 and 0.1875.
  const auto& relu49 = f.table.rows[3];
  EXPECT_EQ(format_value(relu49[2]), "49");
  EXPECT_EQ(format_value(relu49[3]), "0");
  EXPECT_EQ(format_value(relu49[4]), "0.5");
  EXPECT_NEAR(*as_number(relu49[5]), 1.0 / 7, 1e-15);
  EXPECT_DOUBLE_EQ(*as_number(relu49[9]), 0.6875);
  EXPECT_NEAR(*as_number(relu49[10]), 0.6875 - t1 * 0.0625, 1e-12);
  EXPECT_DOUBLE_EQ(*as_number(relu49[12]), 0.53125);
  EXPECT_DOUBLE_EQ(*as_number(relu49[13]), 0.15625);
  EXPECT_NEAR(*as_number(relu49[14]), 0.15625 - t1 * 0.03125, 1e-12);
  // relu at L = 49 with scale_length 16: c = 16^-0.5; one seed: no intervals.
  const auto& fixed = f.table.rows[4];
  EXPECT_EQ(format_value(fixed[3]), "16");
  EXPECT_DOUBLE_EQ(*as_number(fixed[5]), 0.25);
  EXPECT_TRUE(is_null(fixed[10]));
  EXPECT_TRUE(is_null(fixed[14]));
}

TEST_F(LengthSweep, ScalingPlotIsAPanelPerHWithALinePerLength) {
  const Figure f = paper_figure(store->db(), lengths, "scaling");
  ASSERT_EQ(f.plots.size(), 2u);  // relu, sigmoid
  const Plot& relu = f.plots[0];
  EXPECT_TRUE(relu.log_x);
  // L=16, L=49, L=49 with scale_length 16, then softmax at 16 and 49.
  ASSERT_EQ(relu.series.size(), 5u);
  EXPECT_EQ(relu.series[0].label, "L=16");
  EXPECT_EQ(relu.series[1].label, "L=49");
  EXPECT_EQ(relu.series[2].label, "L=49, scale_length=16");
  EXPECT_TRUE(relu.series[2].hollow);
  EXPECT_TRUE(relu.series[4].reference);
  EXPECT_EQ(relu.series[4].end_label, "softmax L=49");
  // x is c = L^-alpha, ascending: 49^-1 then 49^-0.5; the pick on validation is ringed.
  const auto& l49 = relu.series[1].points;
  ASSERT_EQ(l49.size(), 2u);
  EXPECT_NEAR(l49[0].x, 1.0 / 49, 1e-15);
  EXPECT_NEAR(l49[1].x, 1.0 / 7, 1e-15);
  EXPECT_FALSE(l49[0].highlight);
  EXPECT_TRUE(l49[1].highlight);
  EXPECT_EQ(l49[1].label, "alpha=0.5");
  EXPECT_EQ(l49[1].samples.size(), 2u);
  // Both panels on one y range.
  EXPECT_EQ(f.plots[0].y_min, f.plots[1].y_min);
  EXPECT_EQ(f.plots[0].y_max, f.plots[1].y_max);
}

TEST_F(LengthSweep, ScalingOfAMetricOtherThanAccuracyIsDrawnAsStored) {
  SelectionSpec selection;
  selection.metric = "test_loss";
  const Figure f = paper_figure(store->db(), lengths, "scaling", selection);
  ASSERT_FALSE(f.plots.empty());
  EXPECT_EQ(f.plots[0].y_label, "test_loss");
  // relu, L = 16, alpha 1 (c = 1/16): test accuracies .625 and .75, losses 2 - 2 acc.
  const auto& l16 = f.plots[0].series.at(0).points;
  ASSERT_FALSE(l16.empty());
  EXPECT_NEAR(l16[0].x, 1.0 / 16, 1e-15);
  EXPECT_DOUBLE_EQ(l16[0].y, 0.625);
}

TEST_F(LengthSweep, ReportDrawsWhatThisSweepWasDesignedFor) {
  const auto figures = all_figures(store->db(), lengths);
  std::map<std::string, std::string> skipped;
  for (const Figure& f : figures) skipped[f.id] = f.skipped;
  // Only the patch size varies among sizes: no Fig. 1 with a line per alpha and h.
  EXPECT_THAT(skipped["fig1"], HasSubstr("varies the patch size but not the model"));
  EXPECT_EQ(skipped["fig2"], "");
  EXPECT_EQ(skipped["scaling"], "");
  EXPECT_EQ(skipped["best"], "");
  EXPECT_THAT(skipped["fig3"], HasSubstr("qk_norm does not vary"));
}

TEST_F(LengthSweep, Fig2SigmoidIsNotTheReferenceAndPanelsShareTheirRange) {
  const Figure f = paper_figure(store->db(), lengths, "fig2");
  // Panels: patch 4; patch 4 with scale_length 16; patch 7.
  ASSERT_EQ(f.plots.size(), 3u);
  for (const Plot& p : f.plots) {
    EXPECT_EQ(p.y_min, f.plots[0].y_min);
    EXPECT_EQ(p.y_max, f.plots[0].y_max);
    EXPECT_THAT(p.footnote, HasSubstr("1-2 seeds"));
    EXPECT_THAT(p.footnote, HasSubstr("2 epochs"));
    EXPECT_THAT(p.footnote, HasSubstr("best mean val_acc"));
  }
  std::vector<testing::XmlElement> svg;
  ASSERT_EQ(testing::check_xml(render_svg(f.plots[2]), &svg), "");
  std::map<std::string, std::string> stroke;  // series label -> line colour
  std::map<std::string, std::string> label;   // data-series -> label
  for (const auto& e : svg) {
    if (e.name == "g" && !e.attribute("data-series").empty())
      label[e.attribute("data-series")] = e.attribute("data-label");
    if (e.attribute("class") == "series-line")
      stroke[label[e.attribute("data-series")]] = e.attribute("stroke");
  }
  EXPECT_EQ(stroke["softmax (reference)"], "#000000");
  ASSERT_TRUE(stroke.count("sigmoid"));
  EXPECT_NE(stroke["sigmoid"], "#000000");
  // relu at patch 7: ringed at alpha 1, the pick on validation.
  const PlotSeries& relu = f.plots[2].series[0];
  EXPECT_EQ(relu.label, "relu");
  EXPECT_FALSE(relu.points[0].highlight);
  EXPECT_TRUE(relu.points[1].highlight);
}

TEST_F(LengthSweep, Fig2FixedLengthPanelHasTheSoftmaxOfItsPatchAsReference) {
  // softmax has no scale_length: its trials fall in the real-length panel of their patch, and are
  // the reference of the fixed-length panel of that patch too (test .75 and .8125 at patch 4).
  const Figure f = paper_figure(store->db(), lengths, "fig2");
  ASSERT_EQ(f.plots.size(), 3u);
  EXPECT_THAT(f.plots[1].title, HasSubstr("scale_length=16"));
  for (size_t i : {0, 1}) {
    const PlotSeries& reference = f.plots[i].series.back();
    ASSERT_TRUE(reference.reference) << f.plots[i].title;
    ASSERT_EQ(reference.points.size(), 1u);
    EXPECT_DOUBLE_EQ(reference.points[0].y, 100 * 0.78125) << f.plots[i].title;
  }
  // The table's softmax column says the same for the fixed-length rows (patch 4, scale_length 16).
  const size_t softmax_column = f.table.columns.size() - 2;
  ASSERT_EQ(f.table.columns[softmax_column], "softmax");
  size_t fixed_rows = 0;
  for (const auto& row : f.table.rows) {
    if (format_value(row[1]) != "16") continue;
    ++fixed_rows;
    EXPECT_DOUBLE_EQ(*as_number(row[softmax_column]), 0.78125);
  }
  EXPECT_EQ(fixed_rows, 2u);  // alpha 0.5 and 1
}

OrderedJson size_trial(const std::string& model, int64_t patch, const std::string& attn) {
  const bool nano = model == "nano";
  OrderedJson id = {{"dataset", "fashion-mnist"},
                    {"width", nano ? 32 : 64},
                    {"depth", nano ? 2 : 4},
                    {"heads", nano ? 2 : 4},
                    {"mlp_dim", nano ? 128 : 256},
                    {"patch", patch},
                    {"attn", attn}};
  if (attn != "softmax") id["alpha"] = 1;
  id["epochs"] = 2;
  id["seed"] = 0;
  return id;
}

// A trial without attention has no heads, qk_norm or gate in its identity: their NULLs neither
// split the figure into panels nor drop its lines.
TEST(Fig1, TrialsWithoutAttentionAreLinesBesideSoftmax) {
  TempDir dir;
  const std::string path = dir.file("none.db");
  std::vector<testing::StoredTrial> trials;
  double core = 10;
  for (const char* model : {"nano", "micro"}) {
    for (int64_t patch : {7, 4}) {
      OrderedJson softmax = size_trial(model, patch, "softmax");
      softmax["qk_norm"] = true;
      OrderedJson none = size_trial(model, patch, "none");
      none.erase("heads");
      none.erase("alpha");
      trials.push_back({softmax, 0.75, NAN, core});
      trials.push_back({none, 0.5, NAN, core / 2});
      core += 10;
    }
  }
  testing::write_sweep_database(path, "none", trials);
  store::ResultsStore store(path, store::Database::Access::read_only);
  const Figure f = paper_figure(store.db(), {"none", ""}, "fig1");
  ASSERT_TRUE(f.skipped.empty()) << f.skipped;
  ASSERT_EQ(f.plots.size(), 1u);
  std::vector<std::string> labels;
  for (const auto& s : f.plots[0].series) labels.push_back(s.label);
  EXPECT_THAT(labels, ::testing::ElementsAre("softmax, patch 4", "softmax, patch 7",
                                             "none, patch 4", "none, patch 7"));
  for (const auto& s : f.plots[0].series) EXPECT_EQ(s.points.size(), 2u) << s.label;
}

// The figures over alpha leave out trials without attention (they have no alpha), and the
// scaling table picks alpha for point-wise attention only.
TEST(AlphaFigures, LeaveOutTrialsWithoutAttention) {
  TempDir dir;
  const std::string path = dir.file("alpha.db");
  std::vector<testing::StoredTrial> trials;
  for (int64_t patch : {7, 4}) {
    for (int seed : {0, 1}) {
      trials.push_back({length_trial("softmax", 0, patch, seed), 0.75, 0.75});
      trials.push_back({length_trial("relu", 0.5, patch, seed), 0.625, 0.5});
      trials.push_back({length_trial("relu", 1, patch, seed), 0.5, 0.625});
      OrderedJson none = length_trial("none", 0, patch, seed);
      none.erase("alpha");
      trials.push_back({none, 0.875, 0.875});
    }
  }
  testing::write_sweep_database(path, "alpha", trials);
  store::ResultsStore store(path, store::Database::Access::read_only);
  const Figure fig2 = paper_figure(store.db(), {"alpha", ""}, "fig2");
  ASSERT_TRUE(fig2.skipped.empty()) << fig2.skipped;
  for (const auto& plot : fig2.plots) {
    ASSERT_EQ(plot.series.size(), 2u);
    EXPECT_EQ(plot.series[0].label, "relu");
    EXPECT_TRUE(plot.series[1].reference);
  }
  const Figure scaling = paper_figure(store.db(), {"alpha", ""}, "scaling");
  ASSERT_TRUE(scaling.skipped.empty()) << scaling.skipped;
  for (const auto& row : scaling.table.rows) EXPECT_NE(format_value(row[0]), "none");
  // In Fig. 1 (accuracy against compute) no attention is a line unlike softmax's.
  PlotSeries softmax, none;
  style_by_attn(softmax, Value(std::string("softmax")));
  style_by_attn(none, Value(std::string("none")));
  EXPECT_NE(softmax.marker, none.marker);
  EXPECT_NE(softmax.dash, none.dash);
}

// While a sweep runs, a length may have one alpha done: the figures ring no pick among one.
TEST(AlphaFigures, RingNoPickWhereOnlyOneAlphaIsDone) {
  TempDir dir;
  const std::string path = dir.file("one.db");
  std::vector<testing::StoredTrial> trials;
  for (int seed : {0, 1}) {
    for (int64_t patch : {7, 4}) {
      trials.push_back({length_trial("relu", 1, patch, seed), 0.75, 0.75});
      trials.push_back({length_trial("softmax", 0, patch, seed), 0.75, 0.75});
    }
    trials.push_back({length_trial("relu", 0.5, 7, seed), 0.625, 0.5});  // two alphas at 16 keys
  }
  testing::write_sweep_database(path, "one", trials);
  store::ResultsStore store(path, store::Database::Access::read_only);
  auto ringed = [](const Figure& f) {
    std::map<std::string, int> count;  // per plot title
    for (const auto& plot : f.plots) {
      for (const auto& series : plot.series) {
        for (const auto& point : series.points) count[plot.title] += point.highlight ? 1 : 0;
      }
    }
    return count;
  };
  const Figure fig2 = paper_figure(store.db(), {"one", ""}, "fig2");
  ASSERT_EQ(fig2.plots.size(), 2u);
  const auto fig2_rings = ringed(fig2);
  for (const auto& [title, n] : fig2_rings) {
    EXPECT_EQ(n, title.find("patch=7") != std::string::npos ? 1 : 0) << title;
  }
  const Figure scaling = paper_figure(store.db(), {"one", ""}, "scaling");
  ASSERT_TRUE(scaling.skipped.empty()) << scaling.skipped;
  int scaling_rings = 0;
  for (const auto& [title, n] : ringed(scaling)) scaling_rings += n;
  EXPECT_EQ(scaling_rings, 1) << "only L = 16 has two alphas to pick from";
}

// A trial without attention has no qk-norm or gate (NULL in its row): beside softmax with qk-norm
// on, that is not a sweep over qk_norm or gate, and the report draws no Fig. 3 or Fig. 4 for it.
TEST(AblationFigures, TrialsWithoutAttentionDoNotMakeQkNormOrGateVary) {
  TempDir dir;
  const std::string path = dir.file("lr.db");
  std::vector<testing::StoredTrial> trials;
  for (double lr : {0.001, 0.003}) {
    for (int seed : {0, 1}) {
      OrderedJson softmax = length_trial("softmax", 0, 4, seed);
      softmax["qk_norm"] = true;
      softmax["gate"] = "none";
      softmax["lr"] = lr;
      OrderedJson none = length_trial("none", 0, 4, seed);
      none.erase("alpha");
      none["lr"] = lr;
      trials.push_back({softmax, 0.75, 0.75});
      trials.push_back({none, 0.875, 0.875});
    }
  }
  testing::write_sweep_database(path, "lr", trials);
  store::ResultsStore store(path, store::Database::Access::read_only);
  std::map<std::string, const Figure*> by_id;
  const auto figures = all_figures(store.db(), {"lr", ""});
  for (const Figure& f : figures) by_id[f.id] = &f;
  ASSERT_TRUE(by_id.count("fig3") && by_id.count("fig4"));
  EXPECT_THAT(by_id["fig3"]->skipped, HasSubstr("qk_norm does not vary"));
  EXPECT_TRUE(by_id["fig3"]->plots.empty());
  EXPECT_THAT(by_id["fig4"]->skipped, HasSubstr("gate does not vary"));
  EXPECT_TRUE(by_id["fig4"]->plots.empty());
}

TEST(Fig1, ALinePerAttentionAndPatchWithEveryPointLabelled) {
  TempDir dir;
  const std::string path = dir.file("sizes.db");
  std::vector<testing::StoredTrial> trials;
  double core = 10;
  for (const char* model : {"nano", "micro"}) {
    for (int64_t patch : {7, 4}) {
      for (const char* attn : {"softmax", "relu"}) {
        trials.push_back({size_trial(model, patch, attn), 0.75, NAN, core});
        core += 10;
      }
    }
  }
  testing::write_sweep_database(path, "sizes", trials);
  store::ResultsStore store(path, store::Database::Access::read_only);
  const Figure f = paper_figure(store.db(), {"sizes", ""}, "fig1");
  ASSERT_TRUE(f.skipped.empty()) << f.skipped;
  ASSERT_EQ(f.plots.size(), 1u);
  const auto& series = f.plots[0].series;
  ASSERT_EQ(series.size(), 4u);
  EXPECT_EQ(series[0].label, "softmax, patch 4");
  EXPECT_EQ(series[1].label, "softmax, patch 7");
  EXPECT_EQ(series[2].label, "relu, alpha=1, patch 4");
  EXPECT_NE(series[0].dash, series[1].dash);
  // Through the model sizes, in order of compute: every point named.
  ASSERT_EQ(series[1].points.size(), 2u);
  EXPECT_EQ(series[1].points[0].label, "nano/7");
  EXPECT_EQ(series[1].points[1].label, "micro/7");
  for (const auto& s : series) {
    for (const auto& p : s.points) EXPECT_FALSE(p.label.empty()) << s.label;
  }
  // nano/7 is on the softmax and the relu line: one label above its point, one below.
  EXPECT_NE(series[1].points[0].label_below, series[3].points[0].label_below);
  EXPECT_THAT(f.plots[0].footnote, HasSubstr("one seed"));
}

}  // namespace
}  // namespace vitsweep::report
