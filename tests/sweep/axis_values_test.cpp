#include "sweep/axis_values.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "sweep_test_support.hpp"

namespace vitsweep::sweep {
namespace {

using ::testing::HasSubstr;
using testing::kSource;
using testing::usage_error;

std::vector<OrderedJson> values_of(const std::string& key, std::string_view json) {
  return parse_axis_values(key, parse_json_strict(json, "test"), kSource, "grid." + key);
}

std::vector<double> doubles_of(const std::string& key, std::string_view json) {
  std::vector<double> out;
  for (const auto& value : values_of(key, json)) out.push_back(value.get<double>());
  return out;
}

std::string axis_error(const std::string& key, std::string_view json) {
  return usage_error([&] { values_of(key, json); });
}

TEST(AxisValues, RangeInTenthsGivesTheLiteralsExactly) {
  // Repeated addition drifts (0.1 + 0.1 + 0.1 != 0.3) and so does i * 0.1 (3 * 0.1 !=
  // 0.3); the range must give the doubles the literals parse to, or alpha=0.3 from a range and
  // alpha=0.3 typed by hand would be different trials.
  ASSERT_NE(3 * 0.1, 0.3);
  const std::vector<double> expected = {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1};
  const std::vector<double> got = doubles_of("alpha", R"({"range": [0, 1, 0.1]})");
  ASSERT_EQ(got.size(), 11u);
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(got[i], expected[i]) << "point " << i;  // exact, not near
  }
}

TEST(AxisValues, RangeInQuarters) {
  EXPECT_EQ(doubles_of("alpha", R"({"range": [0, 2, 0.25]})"),
            (std::vector<double>{0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2}));
}

TEST(AxisValues, NegativeStepCountsDown) {
  EXPECT_EQ(doubles_of("alpha", R"({"range": [1, 0, -0.25]})"),
            (std::vector<double>{1, 0.75, 0.5, 0.25, 0}));
}

TEST(AxisValues, RangeThroughZeroGivesExactZero) {
  // -0.3 + 3 * 0.1 is 5.55e-17 in doubles; rounding relative to the range's scale makes it 0.
  const auto got = doubles_of("alpha", R"({"range": [-0.3, 0.3, 0.1]})");
  EXPECT_EQ(got, (std::vector<double>{-0.3, -0.2, -0.1, 0, 0.1, 0.2, 0.3}));
  EXPECT_FALSE(std::signbit(got[3]));
}

TEST(AxisValues, RangeStopsAtToEvenWhenStepDoesNotDivide) {
  EXPECT_EQ(doubles_of("alpha", R"({"range": [0, 1, 0.4]})"), (std::vector<double>{0, 0.4, 0.8}));
  EXPECT_EQ(doubles_of("alpha", R"({"range": [0.5, 0.5, 1]})"), (std::vector<double>{0.5}));
}

TEST(AxisValues, SmallLearningRatesAreExact) {
  EXPECT_EQ(doubles_of("lr", R"({"range": [1e-4, 5e-4, 1e-4]})"),
            (std::vector<double>{1e-4, 2e-4, 3e-4, 4e-4, 5e-4}));
}

TEST(AxisValues, Linspace) {
  EXPECT_EQ(doubles_of("alpha", R"({"linspace": [0, 2, 5]})"),
            (std::vector<double>{0, 0.5, 1, 1.5, 2}));
  EXPECT_EQ(doubles_of("alpha", R"({"linspace": [0, 1, 11]})"),
            (std::vector<double>{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1}));
  EXPECT_EQ(doubles_of("alpha", R"({"linspace": [0.5, 2, 1]})"), (std::vector<double>{0.5}));
}

TEST(AxisValues, IntegerKeysGetIntegers) {
  const auto depths = values_of("depth", R"({"range": [2, 8, 2]})");
  ASSERT_EQ(depths.size(), 4u);
  for (size_t i = 0; i < depths.size(); ++i) {
    EXPECT_TRUE(depths[i].is_number_integer()) << depths[i].dump();
    EXPECT_EQ(depths[i].get<int64_t>(), static_cast<int64_t>(2 + 2 * i));
  }
  const auto down = values_of("warmup_steps", R"({"range": [300, 0, -100]})");
  EXPECT_EQ(OrderedJson(down).dump(), "[300,200,100,0]");
  const auto spaced = values_of("depth", R"({"linspace": [1, 9, 5]})");
  EXPECT_EQ(OrderedJson(spaced).dump(), "[1,3,5,7,9]");
}

TEST(AxisValues, ListsKeepTheirValues) {
  EXPECT_EQ(OrderedJson(values_of("attn", R"(["relu", "gelu"])")).dump(), R"(["relu","gelu"])");
  EXPECT_EQ(OrderedJson(values_of("alpha", "[0, 0.5, 2]")).dump(), "[0,0.5,2]");
}

TEST(AxisValues, WrongValueInListNamesItsPath) {
  EXPECT_EQ(axis_error("alpha", R"([0, 0.5, 1, "one"])"),
            R"(sweeps/x.json: grid.alpha[3]: expected a number in [-16, 16], got "one")");
  EXPECT_EQ(axis_error("attn", R"(["relu", "gleu"])"),
            "sweeps/x.json: grid.attn[1]: expected one of softmax, relu, relu2, gelu, softplus, "
            "identity, relu6, sigmoid, none, got \"gleu\" (did you mean 'gelu'?)");
}

TEST(AxisValues, EmptyListIsAnError) {
  EXPECT_EQ(axis_error("alpha", "[]"),
            "sweeps/x.json: grid.alpha: empty list; give at least one value");
}

TEST(AxisValues, SingleValueIsAnError) {
  EXPECT_THAT(axis_error("alpha", "0.5"),
              HasSubstr("sweeps/x.json: grid.alpha: expected a list of values or {range: ...} / "
                        "{linspace: ...}, got 0.5"));
}

TEST(AxisValues, ListOfObjectsIsAnError) {
  EXPECT_THAT(axis_error("alpha", R"([{"value": 1}])"),
              HasSubstr("grid.alpha[0]: expected a number in [-16, 16], got an object"));
}

TEST(AxisValues, BadRangesAreErrors) {
  EXPECT_EQ(axis_error("alpha", R"({"range": [0, 1, 0]})"),
            "sweeps/x.json: grid.alpha.range: step must be non-zero");
  EXPECT_THAT(axis_error("alpha", R"({"range": [0, 1, -0.5]})"),
              HasSubstr("grid.alpha.range: step -0.5 points away from 1 (from 0); use step 0.5"));
  EXPECT_THAT(axis_error("alpha", R"({"range": [0, 1]})"),
              HasSubstr("grid.alpha.range: expected [from, to, step] (three numbers), got a list"));
  EXPECT_THAT(axis_error("alpha", R"({"rnage": [0, 1, 0.5]})"),
              HasSubstr("unknown key 'rnage' (did you mean 'range'?)"));
  EXPECT_THAT(axis_error("depth", R"({"range": [2, 8, 1.5]})"),
              HasSubstr("grid.depth.range: 'depth' takes integers, so from, to and step must be "
                        "integers, got 1.5"));
  EXPECT_THAT(axis_error("attn", R"({"range": [0, 1, 1]})"),
              HasSubstr("grid.attn.range: 'attn' is a choice key; range needs a numeric key"));
  EXPECT_THAT(axis_error("depth", R"({"linspace": [1, 2, 3]})"),
              HasSubstr("grid.depth.linspace: point 1 is 1.5, but 'depth' takes integers"));
  EXPECT_THAT(axis_error("alpha", R"({"linspace": [0, 1, 0]})"),
              HasSubstr("grid.alpha.linspace: n must be an integer >= 1, got 0"));
}

TEST(AxisValues, ComputedPointsAreCheckedLikeSettings) {
  EXPECT_EQ(axis_error("alpha", R"({"range": [0, 20, 5]})"),
            "sweeps/x.json: grid.alpha.range (point 4): expected a number in [-16, 16], got 20");
}

TEST(AxisValues, HugeRangeIsRefusedBeforeBuildingIt) {
  EXPECT_THAT(axis_error("lr", R"({"range": [1e-9, 1, 1e-9]})"),
              HasSubstr("more than the 1000000 one axis may hold"));
}

TEST(AxisValues, RoundToScale) {
  EXPECT_EQ(round_to_scale(0.30000000000000004, 1), 0.3);
  EXPECT_EQ(round_to_scale(5.551115123125783e-17, 0.3), 0.0);
  EXPECT_EQ(round_to_scale(3.0000000000000004e-05, 5e-4), 3e-5);
  EXPECT_EQ(round_to_scale(1234567890123456.0, 1e15), 1234567890120000.0);
  EXPECT_FALSE(std::signbit(round_to_scale(-0.0, 1)));
}

}  // namespace
}  // namespace vitsweep::sweep
