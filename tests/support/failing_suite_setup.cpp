// A program whose one suite's SetUpTestSuite throws: run by the ctest test
// support_failed_suite_setup_fails (tests/CMakeLists.txt), which expects test_main.cpp's listener
// to end it with status 1 before Google Test prints the suite's tests as skipped.
#include <gtest/gtest.h>

#include <stdexcept>

namespace {

class SuiteWithBrokenSetUp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { throw std::runtime_error("the shared runs failed"); }
};

TEST_F(SuiteWithBrokenSetUp, WouldPass) { EXPECT_TRUE(true); }

}  // namespace
