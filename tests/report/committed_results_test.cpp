// The committed results stay true to their database: the generated tables of results/README.md
// (issue 14's second pass) are what scripts/second_pass_results.py computes from
// results/repro/second_pass.db with this build's `sweep compare`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "support/process.hpp"

namespace vitsweep {
namespace {

using ::testing::HasSubstr;

const std::string kSource = VITSWEEP_SOURCE_DIR;
const std::string kScript = kSource + "/scripts/second_pass_results.py";
const std::string kPython = "/usr/bin/python3";

class CommittedResults : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kPython.c_str(), X_OK) != 0)
      GTEST_SKIP() << kPython << " is missing (scripts/setup.sh installs it)";
  }
  testing::CommandResult check(const std::string& readme) {
    return testing::run_program({kPython, kScript, "--check", "--readme", readme}, dir.path(),
                                {"SWEEP=" + testing::sweep_program()});
  }
  testing::TempDir dir;
};

TEST_F(CommittedResults, GeneratedTablesInTheResultsReadmeMatchTheCommittedDatabase) {
  const auto r = check(kSource + "/results/README.md");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("matches results/repro/second_pass.db"));
}

TEST_F(CommittedResults, AChangedNumberInAGeneratedTableIsCaught) {
  std::string text = testing::read_file(kSource + "/results/README.md");
  const auto begin = text.find("<!-- begin generated: scaling-val -->");
  ASSERT_NE(begin, std::string::npos);
  const auto digit = text.find_first_of("0123456789", text.find("\n| ", begin) + 3);
  text[digit] = text[digit] == '9' ? '8' : '9';
  const std::string readme = dir.file("README.md");
  testing::write_file(readme, text);
  const auto r = check(readme);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("is stale against results/repro/second_pass.db"));
  EXPECT_EQ(testing::read_file(readme), text) << "--check writes nothing";
}

}  // namespace
}  // namespace vitsweep
