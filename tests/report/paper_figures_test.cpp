// The figure tables on the fixture (hand-computed means, stds and the gate's overhead), figures
// skipped when their data is missing, and the written report: well-formed SVG and HTML with one
// line per series and one marker per point.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "report/csv.hpp"
#include "report/html_report.hpp"
#include "report/paper_figures.hpp"
#include "report/report_fixture.hpp"
#include "report/xml_check.hpp"
#include "store/results_store.hpp"
#include "support/temp_dir.hpp"

namespace vitsweep::report {
namespace {

using ::testing::HasSubstr;
using vitsweep::testing::crlf;
using vitsweep::testing::TempDir;

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
  EXPECT_THAT(f.plots[1].title, HasSubstr("gate silu: +25.0%"));
  EXPECT_EQ(f.plots[0].series[1].label, "relu, gate=silu (+25.0%)");
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

TEST_F(PaperFigures, ReportIsWellFormedWithOneLinePerSeriesAndOneMarkerPerPoint) {
  const ReportFiles files = write_report(store->db(), "grid", dir.file("report"));
  const std::string html = testing::read_file(files.index);
  std::vector<testing::XmlElement> page;
  ASSERT_EQ(testing::check_xml(html, &page), "");
  EXPECT_THAT(html, HasSubstr("Not drawn: every trial has the same model size"));
  size_t images = 0;
  for (const auto& e : page) images += e.name == "img";
  EXPECT_EQ(images, files.figures.size());
  // fig2, fig3, fig4 (accuracy and compute), curves.
  EXPECT_EQ(files.figures.size(), 5u);
  for (const auto& svg : files.figures) {
    std::vector<testing::XmlElement> elements;
    EXPECT_EQ(testing::check_xml(testing::read_file(svg), &elements), "") << svg;
    EXPECT_EQ(elements.front().name, "svg") << svg;
  }
  // fig2: relu (2 alphas) and the softmax reference line.
  std::vector<testing::XmlElement> fig2;
  ASSERT_EQ(testing::check_xml(testing::read_file(dir.file("report/fig2-1.svg")), &fig2), "");
  EXPECT_EQ(count_elements(fig2, "polyline", "series-line"), 2u);
  EXPECT_EQ(count_elements(fig2, "circle", "point"), 2u);
  EXPECT_TRUE(std::filesystem::exists(dir.file("report/fig2.csv")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("report/curves.csv")));
}

}  // namespace
}  // namespace vitsweep::report
