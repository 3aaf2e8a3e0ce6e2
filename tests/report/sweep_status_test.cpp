// `sweep status`: counts, the running trial's epoch and ETA, the failed trial's first error line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "report/report_fixture.hpp"
#include "report/sweep_status.hpp"
#include "store/results_store.hpp"
#include "support/temp_dir.hpp"
#include "support/thrown.hpp"

namespace vitsweep::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(SweepStatus, CountsRunningTrialsWithEtaAndFailuresWithTheirFirstErrorLine) {
  testing::TempDir dir;
  testing::build_fixture_database(dir.file("r.db"));
  store::ResultsStore store(dir.file("r.db"), store::Database::Access::read_only);
  // t10 recorded its first of 2 epochs (1.5 s each) at kFixtureTime + 10; half a second later
  // one epoch is left, less the half second already spent on it.
  const std::string text = status_text(store.db(), "", testing::kFixtureTime + 10.5);
  EXPECT_THAT(text, HasSubstr("grid: 9/11 done, 1 running, 1 failed\n"));
  EXPECT_THAT(text, HasSubstr("  running  t10  attn=relu alpha=0.5 qk_norm=false gate=silu seed=0  "
                              "epoch 1/2  ETA 1.0s  on host, heartbeat 0.5s ago\n"));
  EXPECT_THAT(text, HasSubstr("  failed   t09  attn=relu alpha=1 qk_norm=true gate=none seed=1  "
                              "attempt 1  step 3: loss is \"nan\", stopped\n"));
  EXPECT_THAT(text, Not(HasSubstr("second line of the log")));
  EXPECT_THAT(text, HasSubstr("sweep ETA ~1.0s"));
}

TEST(SweepStatus, UnknownSweepIsAUsageErrorNamingTheKnownOnes) {
  testing::TempDir dir;
  testing::build_fixture_database(dir.file("r.db"));
  store::ResultsStore store(dir.file("r.db"), store::Database::Access::read_only);
  EXPECT_THAT(testing::thrown_message<UsageError>([&] { status_text(store.db(), "gird", 0); }),
              HasSubstr("no sweep named 'gird'"));
}

}  // namespace
}  // namespace vitsweep::report
