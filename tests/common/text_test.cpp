// Text helpers every error message relies on.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json.hpp"
#include "common/text.hpp"

namespace vitsweep {
namespace {

TEST(EditDistance, SwappedNeighboursAreOneEdit) {
  EXPECT_EQ(edit_distance("gird", "grid"), 1u);
  EXPECT_EQ(edit_distance("alpah", "alpha"), 1u);
  EXPECT_EQ(edit_distance("abc", "abc"), 0u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
}

TEST(DidYouMean, SuggestsOnlyCloseCandidates) {
  const std::vector<std::string> keys = {"name", "grid", "zip", "seeds"};
  EXPECT_EQ(did_you_mean("gird", keys), " (did you mean 'grid'?)");
  EXPECT_EQ(did_you_mean("seed", keys), " (did you mean 'seeds'?)");
  EXPECT_EQ(did_you_mean("sweep", keys), "");
  EXPECT_EQ(did_you_mean("grid", keys), "") << "an exact match is not a typo";
  EXPECT_EQ(did_you_mean("x", std::vector<std::string>{}), "");
}

TEST(FormatNumber, ShortestRoundTrip) {
  EXPECT_EQ(format_number(1.0), "1");
  EXPECT_EQ(format_number(0.1), "0.1");
  EXPECT_EQ(format_number(1e-8), "1e-08");
  EXPECT_EQ(format_number(0.1 + 0.2), "0.30000000000000004");
}

TEST(FormatDuration, ReadsNaturally) {
  EXPECT_EQ(format_duration(12.34), "12.3s");
  EXPECT_EQ(format_duration(65), "1m 05s");
  EXPECT_EQ(format_duration(7380), "2h 03m");
}

// --deadline's durations: a number with an optional unit, or Slurm's [D-]HH:MM:SS.
TEST(Text, ParseDurationTakesUnitsAndSlurmTimes) {
  EXPECT_EQ(parse_duration("90"), 90.0);
  EXPECT_EQ(parse_duration("90s"), 90.0);
  EXPECT_EQ(parse_duration("2m"), 120.0);
  EXPECT_EQ(parse_duration("1.5h"), 5400.0);
  EXPECT_EQ(parse_duration("1d"), 86400.0);
  EXPECT_EQ(parse_duration("1:30"), 90.0);
  EXPECT_EQ(parse_duration("1-02:00:00"), 93600.0);
  EXPECT_FALSE(parse_duration("5x").has_value());
  EXPECT_FALSE(parse_duration("h").has_value());
  EXPECT_FALSE(parse_duration("-1m").has_value());
}

}  // namespace
}  // namespace vitsweep

namespace vitsweep {
namespace {

TEST(StrictJson, NumberTooLargeIsAUsageErrorNamingTheSource) {
  // Found by fuzz_sweep_file: nlohmann throws out_of_range, not parse_error, for this.
  try {
    parse_json_strict(R"({"alpha": 4001e489})", "a.json");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "a.json: number overflow parsing '4001e489'");
  }
}

TEST(StrictJson, SyntaxErrorHasLineAndColumn) {
  try {
    parse_json_strict("{\n  \"a\": 1,\n}", "b.json");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("b.json:3:1: ", 0), 0u) << e.what();
  }
}

TEST(StrictJson, DuplicateKeyIsNamedWithItsPath) {
  try {
    parse_json_strict(R"({"grid": {"alpha": [1], "alpha": [2]}})", "c.json");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "c.json: duplicate key 'grid.alpha'");
  }
}

}  // namespace
}  // namespace vitsweep
