#include "sweep/sweep_file.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sweep_test_support.hpp"

namespace vitsweep::sweep {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::sweep_error;
using testing::sweep_from;
using testing::usage_error;

std::string write_file(const std::string& name, std::string_view text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(ParseSweep, ReadsEverySection) {
  const SweepSpec spec = sweep_from(R"({
    "name": "fig2_alpha",
    "description": "alpha for point-wise attention",
    "base": {"epochs": 5, "model": "micro/4"},
    "grid": {"attn": ["relu", "gelu"], "alpha": {"range": [0, 2, 0.5]}},
    "zip": [{"width": [64, 128], "heads": [2, 4]}],
    "include": [{"attn": "softmax"}],
    "exclude": [{"attn": "gelu", "alpha": 0}],
    "seeds": 3
  })");
  EXPECT_EQ(spec.name, "fig2_alpha");
  EXPECT_EQ(spec.description, "alpha for point-wise attention");
  EXPECT_EQ(spec.source, "sweeps/x.json");
  EXPECT_EQ(spec.base.dump(), R"({"epochs":5,"model":"micro/4"})");
  ASSERT_EQ(spec.axes.size(), 3u);
  EXPECT_THAT(spec.axes[0].keys, ElementsAre("attn"));
  EXPECT_EQ(spec.axes[0].origin, "grid.attn");
  EXPECT_EQ(spec.axes[1].points.size(), 5u);
  EXPECT_EQ(spec.axes[1].origin, "grid.alpha");
  EXPECT_THAT(spec.axes[2].keys, ElementsAre("width", "heads"));
  EXPECT_EQ(spec.axes[2].origin, "zip[0]");
  EXPECT_EQ(OrderedJson(spec.axes[2].points).dump(), "[[64,2],[128,4]]");
  EXPECT_EQ(OrderedJson(spec.include).dump(), R"([{"attn":"softmax"}])");
  EXPECT_EQ(OrderedJson(spec.exclude).dump(), R"([{"attn":"gelu","alpha":0}])");
  EXPECT_THAT(spec.seeds, ElementsAre(0, 1, 2));
  EXPECT_TRUE(spec.overrides.empty());
}

TEST(ParseSweep, SeedsAsAList) {
  EXPECT_THAT(sweep_from(R"({"name": "s", "seeds": [0, 7]})").seeds, ElementsAre(0, 7));
  EXPECT_TRUE(sweep_from(R"({"name": "s"})").seeds.empty());
}

TEST(ParseSweep, UnknownTopLevelKeySuggestsTheRightOne) {
  EXPECT_EQ(sweep_error(R"({"name": "x", "gird": {"alpha": [0, 1]}})"),
            "sweeps/x.json: unknown key 'gird' (did you mean 'grid'?)");
}

TEST(ParseSweep, UnknownConfigKeysNameTheirPath) {
  EXPECT_EQ(sweep_error(R"({"name": "x", "grid": {"attnn": ["relu"]}})"),
            "sweeps/x.json: grid.attnn: unknown config key 'attnn' (did you mean 'attn'?)");
  EXPECT_THAT(sweep_error(R"({"name": "x", "base": {"epoch": 3}})"),
              HasSubstr("sweeps/x.json: base.epoch: unknown config key 'epoch' (did you mean "
                        "'epochs'?)"));
  EXPECT_THAT(sweep_error(R"({"name": "x", "zip": [{"widht": [64], "heads": [2]}]})"),
              HasSubstr("zip[0].widht: unknown config key 'widht' (did you mean 'width'?)"));
  EXPECT_THAT(sweep_error(R"({"name": "x", "include": [{"alpha": 1}, {"optimiser": "sgd"}]})"),
              HasSubstr("include[1].optimiser: unknown config key 'optimiser' (did you mean "
                        "'optimizer'?)"));
  EXPECT_THAT(sweep_error(R"({"name": "x", "exclude": [{"atn": "relu"}]})"),
              HasSubstr("exclude[0].atn: unknown config key 'atn' (did you mean 'attn'?)"));
}

TEST(ParseSweep, WrongTypesNameTheirPath) {
  EXPECT_EQ(sweep_error(R"({"name": "x", "grid": {"alpha": [0, 0.5, 1, "one"]}})"),
            R"(sweeps/x.json: grid.alpha[3]: expected a number in [-16, 16], got "one")");
  EXPECT_EQ(sweep_error(R"({"name": "x", "base": {"epochs": "five"}})"),
            R"(sweeps/x.json: base.epochs: expected an integer in [1, 1000000], got "five")");
  EXPECT_EQ(sweep_error(R"({"name": "x", "exclude": [{"qk_norm": 1}]})"),
            "sweeps/x.json: exclude[0].qk_norm: expected true or false, got 1");
  EXPECT_EQ(sweep_error(R"({"name": "x", "grid": {"model": ["mini", "huge"]}})"),
            "sweeps/x.json: grid.model[1]: expected one of nano, micro, mini, Ti, S, B, L "
            "(optionally /PATCH), got \"huge\"");
  EXPECT_EQ(sweep_error(R"({"name": "x", "grid": ["alpha"]})"),
            "sweeps/x.json: grid: expected an object of key: values, got a list");
  EXPECT_THAT(sweep_error(R"({"name": "x", "include": {"attn": "relu"}})"),
              HasSubstr("sweeps/x.json: include: expected a list of objects"));
  EXPECT_THAT(sweep_error(R"([1, 2])"), HasSubstr("sweeps/x.json: expected a sweep"));
}

TEST(ParseSweep, GridValueFormsAreChecked) {
  EXPECT_EQ(sweep_error(R"({"name": "x", "grid": {"alpha": []}})"),
            "sweeps/x.json: grid.alpha: empty list; give at least one value");
  EXPECT_EQ(sweep_error(R"({"name": "x", "grid": {"alpha": {"range": [0, 1, 0]}}})"),
            "sweeps/x.json: grid.alpha.range: step must be non-zero");
  EXPECT_THAT(sweep_error(R"({"name": "x", "grid": {"alpha": 0.5}})"),
              HasSubstr("grid.alpha: expected a list of values or {range: ...} / {linspace: ...}"));
  EXPECT_THAT(sweep_error(R"({"name": "x", "grid": {"alpha": [0.5, 1, 0.5]}})"),
              HasSubstr("sweeps/x.json: grid.alpha: value 2 (alpha=0.5) repeats value 0"));
  // 1 and 1.0 are the same alpha.
  EXPECT_THAT(sweep_error(R"({"name": "x", "grid": {"alpha": [1, 1.0]}})"),
              HasSubstr("value 1 (alpha=1.0) repeats value 0"));
}

// threads, ranks and data_dir never reach a trial's identity: an axis over one would quietly
// give one trial per value of the other axes.
TEST(ParseSweep, AxesOverKeysOutsideTheIdentityAreRefused) {
  EXPECT_EQ(sweep_error(R"({"name": "x", "grid": {"attn": ["relu", "gelu"], "threads": [1, 2]}})"),
            "sweeps/x.json: grid.threads: threads is not part of a trial's identity (same "
            "result, rounded differently or run elsewhere), so its 2 values would give the same "
            "trials; set it in base or with --set (to time thread or rank counts: sweep bench "
            "--threads N, or under mpirun -np N)");
  EXPECT_THAT(sweep_error(R"({"name": "x", "grid": {"ranks": [1, 2]}})"),
              HasSubstr("sweeps/x.json: grid.ranks: ranks is not part of a trial's identity"));
  EXPECT_THAT(sweep_error(R"({"name": "x", "zip": [{"data_dir": ["a", "b"], "ranks": [1, 2]}]})"),
              HasSubstr("sweeps/x.json: zip[0]: data_dir, ranks are not part of a trial's "
                        "identity"));
  EXPECT_THAT(sweep_error(R"({"name": "x", "grid": {"data_dir": ["a", "b"]}})"),
              ::testing::EndsWith("set it in base or with --set"));
  // One value is a setting, not an axis; a zip group with a key that counts varies the trial;
  // model is dropped from the identity but the sizes it sets are not.
  EXPECT_NO_THROW(sweep_from(R"({"name": "x", "grid": {"threads": [2], "alpha": [0, 1]}})"));
  EXPECT_NO_THROW(sweep_from(R"({"name": "x", "zip": [{"threads": [1, 2], "alpha": [0, 1]}]})"));
  EXPECT_NO_THROW(sweep_from(R"({"name": "x", "grid": {"model": ["nano/4", "micro/4"]}})"));
}

TEST(ParseSweep, NameIsRequiredAndPlain) {
  EXPECT_THAT(sweep_error(R"({"grid": {}})"), HasSubstr("sweeps/x.json: missing \"name\""));
  EXPECT_EQ(sweep_error(R"({"name": "fig 2"})"),
            "sweeps/x.json: name: expected 1 to 128 letters, digits, '_', '.' or '-', got \"fig "
            "2\"");
  EXPECT_NO_THROW(sweep_from(R"({"name": "Fig-2.alpha_v3"})"));
}

TEST(ParseSweep, ZipListsMustHaveTheSameLength) {
  EXPECT_EQ(sweep_error(R"({"name": "x", "zip": [{"width": [64, 128], "heads": [2, 4, 8]}]})"),
            "sweeps/x.json: zip[0]: keys that vary together need the same number of values, but "
            "width has 2, heads has 3");
  EXPECT_THAT(sweep_error(R"({"name": "x", "zip": [{}]})"),
              HasSubstr("zip[0]: expected a non-empty object"));
}

TEST(ParseSweep, KeyInTwoAxesNamesBothPlaces) {
  // Hydra silently keeps only one of the two (hydra#3283): a dimension of the sweep vanishes.
  EXPECT_EQ(sweep_error(R"({"name": "x", "grid": {"width": [64, 128]},
                            "zip": [{"width": [64, 128], "heads": [2, 4]}]})"),
            "sweeps/x.json: zip[0].width: 'width' already varies in grid.width; a key can vary "
            "along one axis only (to vary keys together, put them in one zip group)");
  EXPECT_THAT(sweep_error(R"({"name": "x", "zip": [{"lr": [0.1, 0.2]}, {"lr": [1, 2]}]})"),
              HasSubstr("zip[1].lr: 'lr' already varies in zip[0].lr"));
}

TEST(ParseSweep, DuplicateJsonKeysAreRejected) {
  EXPECT_EQ(sweep_error(R"({"name": "x", "grid": {"alpha": [0], "alpha": [1]}})"),
            "sweeps/x.json: duplicate key 'grid.alpha'");
}

TEST(ParseSweep, SeedsExcludeSettingSeedElsewhere) {
  EXPECT_EQ(sweep_error(R"({"name": "x", "grid": {"seed": [1, 2]}, "seeds": 3})"),
            "sweeps/x.json: grid.seed: 'seed' cannot be set when \"seeds\" is given (seeds "
            "replicates every trial over its list); use one or the other");
  EXPECT_THAT(sweep_error(R"({"name": "x", "base": {"seed": 4}, "seeds": [1]})"),
              HasSubstr("sweeps/x.json: base.seed: 'seed' cannot be set"));
  EXPECT_THAT(sweep_error(R"({"name": "x", "include": [{"seed": 4}], "seeds": 2})"),
              HasSubstr("include[0].seed: 'seed' cannot be set"));
  EXPECT_THAT(sweep_error(R"({"name": "x", "zip": [{"seed": [1, 2], "lr": [0.1, 0.2]}],
                              "seeds": 2})"),
              HasSubstr("zip[0].seed: 'seed' cannot be set"));
  // Without "seeds", sweeping seed is an ordinary axis.
  EXPECT_NO_THROW(sweep_from(R"({"name": "x", "grid": {"seed": [1, 2]}})"));
}

TEST(ParseSweep, SeedsMustBeACountOrDistinctSeeds) {
  EXPECT_THAT(sweep_error(R"({"name": "x", "seeds": 0})"),
              HasSubstr("seeds: expected a count of replicates >= 1"));
  EXPECT_THAT(sweep_error(R"({"name": "x", "seeds": []})"), HasSubstr("non-empty list of seeds"));
  EXPECT_EQ(sweep_error(R"({"name": "x", "seeds": [3, -1]})"),
            "sweeps/x.json: seeds[1]: expected an integer in [0, 9007199254740991], got -1");
  EXPECT_EQ(sweep_error(R"({"name": "x", "seeds": [3, 5, 3]})"),
            "sweeps/x.json: seeds[2]: seed 3 repeats seeds[0]");
}

TEST(ParseSweep, EmptyExcludeEntryWouldDropEverything) {
  EXPECT_THAT(sweep_error(R"({"name": "x", "exclude": [{}]})"),
              HasSubstr("exclude[0]: an empty entry would match every trial"));
}

TEST(ReadSweepFile, MalformedJsonGivesLineAndColumn) {
  const std::string path =
      write_file("malformed.json", "{\n  \"name\": \"x\",\n  \"grid\": {\"alpha\": [0, 1,]}\n}\n");
  EXPECT_THAT(usage_error([&] { read_sweep_file(path); }),
              AllOf(HasSubstr(path + ":3:27: syntax error"), HasSubstr("unexpected ']'")));
}

TEST(ReadSweepFile, ErrorsNameTheFile) {
  const std::string path = write_file("typo.json", R"({"name": "x", "gird": {}})");
  EXPECT_EQ(usage_error([&] { read_sweep_file(path); }),
            path + ": unknown key 'gird' (did you mean 'grid'?)");
  EXPECT_EQ(read_sweep_file(write_file("ok.json", R"({"name": "ok"})")).name, "ok");
}

TEST(ApplyOverrides, GridReplacesAnAxis) {
  SweepSpec spec = sweep_from(R"({"name": "x", "grid": {"alpha": [0, 0.5], "attn": ["relu"]}})");
  apply_overrides(spec, {}, {"alpha=0,1,2.5"});
  ASSERT_EQ(spec.axes.size(), 2u);
  EXPECT_THAT(spec.axes[0].keys, ElementsAre("alpha"));
  EXPECT_EQ(spec.axes[0].origin, "--grid alpha=0,1,2.5");
  EXPECT_EQ(OrderedJson(spec.axes[0].points).dump(), "[[0],[1],[2.5]]");
}

TEST(ApplyOverrides, GridAddsAnAxisAfterTheLastGridKey) {
  SweepSpec spec = sweep_from(R"({"name": "x", "grid": {"alpha": [0, 0.5]},
                                  "zip": [{"width": [64, 128], "heads": [2, 4]}]})");
  apply_overrides(spec, {}, {"attn=relu,gelu", R"(lr={"range": [0.001, 0.003, 0.001]})"});
  ASSERT_EQ(spec.axes.size(), 4u);
  EXPECT_THAT(spec.axes[0].keys, ElementsAre("alpha"));
  EXPECT_THAT(spec.axes[1].keys, ElementsAre("attn"));
  EXPECT_EQ(OrderedJson(spec.axes[1].points).dump(), R"([["relu"],["gelu"]])");
  EXPECT_THAT(spec.axes[2].keys, ElementsAre("lr"));
  EXPECT_EQ(OrderedJson(spec.axes[2].points).dump(), "[[0.001],[0.002],[0.003]]");
  EXPECT_THAT(spec.axes[3].keys, ElementsAre("width", "heads"));
}

TEST(ApplyOverrides, SetIsCheckedAndKept) {
  SweepSpec spec = sweep_from(R"({"name": "x"})");
  apply_overrides(spec, {"epochs=1", "attn=relu"}, {});
  EXPECT_THAT(spec.overrides, ElementsAre("epochs=1", "attn=relu"));
  EXPECT_THAT(usage_error([&] { apply_overrides(spec, {"alpah=1"}, {}); }),
              HasSubstr("--set alpah=1: unknown key 'alpah' (did you mean 'alpha'?)"));
  EXPECT_THAT(usage_error([&] { apply_overrides(spec, {"alpha=big"}, {}); }),
              HasSubstr("--set alpha=big: key 'alpha': expected a number in [-16, 16]"));
}

TEST(ApplyOverrides, GridErrors) {
  SweepSpec spec = sweep_from(R"({"name": "x", "zip": [{"width": [64, 128], "heads": [2, 4]}],
                                  "seeds": 2})");
  EXPECT_EQ(usage_error([&] { apply_overrides(spec, {}, {"width=32,64"}); }),
            "--grid width=32,64: 'width' varies together with width, heads in zip[0]; change "
            "that zip group in the sweep file");
  EXPECT_THAT(usage_error([&] { apply_overrides(spec, {}, {"alpah=0,1"}); }),
              HasSubstr("--grid alpah=0,1: unknown config key 'alpah' (did you mean 'alpha'?)"));
  EXPECT_EQ(usage_error([&] { apply_overrides(spec, {}, {"alpha=0,one"}); }),
            R"(--grid alpha=0,one: alpha: expected a number in [-16, 16], got "one")");
  EXPECT_THAT(usage_error([&] { apply_overrides(spec, {}, {"alpha=0,,1"}); }),
              HasSubstr("--grid alpha=0,,1: alpha: empty value"));
  EXPECT_THAT(usage_error([&] { apply_overrides(spec, {}, {"alpha"}); }),
              HasSubstr("--grid 'alpha': expected KEY=v1,v2,..."));
  EXPECT_THAT(usage_error([&] { apply_overrides(spec, {}, {"seed=1,2"}); }),
              HasSubstr("--grid seed=1,2: seed: 'seed' cannot be set when \"seeds\" is given"));
  EXPECT_THAT(usage_error([&] { apply_overrides(spec, {"seed=3"}, {}); }),
              HasSubstr("--set seed=3: seed: 'seed' cannot be set"));
  EXPECT_THAT(usage_error([&] { apply_overrides(spec, {}, {"threads=1,2"}); }),
              HasSubstr("sweeps/x.json: --grid threads=1,2: threads is not part of a trial's "
                        "identity"));
}

TEST(SweepDocument, ShowsTheEffectiveSpecAndReadsBack) {
  SweepSpec spec = sweep_from(R"({
    "name": "doc", "base": {"epochs": 2},
    "grid": {"alpha": {"range": [0, 1, 0.5]}},
    "zip": [{"width": [64, 128], "heads": [2, 4]}],
    "include": [{"attn": "softmax"}], "exclude": [{"alpha": 0}], "seeds": 2
  })");
  apply_overrides(spec, {"attn=relu", "lr=0.01"}, {"qk_norm=true,false"});
  const OrderedJson document = spec.document();
  EXPECT_EQ(document.dump(),
            R"({"name":"doc","base":{"epochs":2},"grid":{"alpha":[0.0,0.5,1.0],)"
            R"("qk_norm":[true,false]},"zip":[{"width":[64,128],"heads":[2,4]}],)"
            R"("include":[{"attn":"softmax"}],"exclude":[{"alpha":0}],"seeds":[0,1],)"
            R"("set":{"attn":"relu","lr":0.01}})");
  const SweepSpec again = parse_sweep(document, "stored");
  EXPECT_EQ(again.document(), document);
  std::vector<std::string> hashes, hashes_again;
  for (const auto& t : expand(spec)) hashes.push_back(t.hash);
  for (const auto& t : expand(again)) hashes_again.push_back(t.hash);
  // 3 alphas x 2 qk_norm x 2 zip points x 2 seeds, less the 8 with alpha 0; the include, turned
  // into relu by --set, repeats a grid trial.
  EXPECT_EQ(hashes.size(), 16u);
  EXPECT_EQ(hashes_again, hashes);
}

TEST(FormatSetting, ReadsBackAsTheSameValue) {
  EXPECT_EQ(format_setting("attn", "relu"), "attn=relu");
  EXPECT_EQ(format_setting("alpha", 0.5), "alpha=0.5");
  EXPECT_EQ(format_setting("qk_norm", true), "qk_norm=true");
  // Text that would read back as a number keeps its quotes.
  EXPECT_EQ(format_setting("data_dir", "123"), R"(data_dir="123")");
}

}  // namespace
}  // namespace vitsweep::sweep
