// Bad input through the real program: configs (--set, --config), sweep files and data sets.
// Every case must exit with the expected status (2: the user's input; 1: a runtime failure)
// and print exactly one line on stderr that names the problem.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <zlib.h>

#include "support/process.hpp"

namespace vitsweep {
namespace {

using testing::TempDir;

struct BadInput {
  std::string name;
  std::vector<std::string> args;
  int exit_code;
  std::string expected;  // a substring of the one error line
};

// `depth` lists, one inside the other, after `prefix`, which opens `prefix_levels` itself.
struct Nested {
  std::string prefix;
  size_t prefix_levels;
  size_t depth;
  std::string text() const { return prefix + std::string(depth, '[') + std::string(depth, ']'); }
  // The error names the bracket that opens level 65 (lists and objects nest at most 64 deep).
  std::string error(const std::string& source) const {
    const size_t column = prefix.size() + (64 - prefix_levels) + 1;
    return source + ":1:" + std::to_string(column) +
           ": lists and objects nest deeper than 64 levels";
  }
};

// 100,000 levels, about 200 KB: nlohmann's recursive dump() or copy of it overflows the stack,
// and the strict parser's JSON paths grew quadratically (minutes of CPU).
const Nested kNestedSweep{R"({"name": "x", "grid": {"alpha": )", 2, 100'000};
const Nested kNestedConfig{R"({"alpha": )", 1, 100'000};
// One argument is at most 128 KiB (MAX_ARG_STRLEN), so --set gets 60,000 levels.
const Nested kNestedSetting{"alpha=", 0, 60'000};

std::vector<std::string> train(std::vector<std::string> sets) {
  std::vector<std::string> args = {"train"};
  for (auto& s : sets) {
    args.push_back("--set");
    args.push_back(s);
  }
  return args;
}

std::vector<BadInput> config_cases() {
  return {
      {"alpha_nan", train({"alpha=nan"}), 2,
       "key 'alpha': expected a number in [-16, 16], got \"nan\""},
      {"alpha_inf", train({"alpha=inf"}), 2, "expected a number in [-16, 16], got \"inf\""},
      {"alpha_text", train({"alpha=one"}), 2, "got \"one\""},
      {"alpha_overflow", train({"alpha=1e999"}), 2, "got \"1e999\""},
      {"alpha_out_of_range", train({"alpha=17"}), 2, "expected a number in [-16, 16], got 17"},
      {"unknown_attn", train({"attn=rleu"}), 2, "(did you mean 'relu'?)"},
      {"width_not_divisible", train({"width=100", "heads=3"}), 2,
       "width 100 is not divisible by heads 3"},
      {"patch_not_dividing", train({"patch=5"}), 2, "patch 5 does not divide the 28x28 images"},
      {"zero_width", train({"width=0"}), 2,
       "key 'width': expected an integer in [1, 65536], got 0"},
      {"negative_depth", train({"depth=-1"}), 2, "key 'depth'"},
      {"zero_heads", train({"heads=0"}), 2, "key 'heads'"},
      {"batch_zero", train({"batch_size=0"}), 2, "key 'batch_size': expected an integer in [1,"},
      {"epochs_zero", train({"epochs=0"}), 2, "key 'epochs': expected an integer in [1,"},
      {"negative_lr", train({"lr=-0.1"}), 2, "key 'lr': expected a number > 0, got -0.1"},
      {"zero_lr", train({"lr=0"}), 2, "expected a number > 0, got 0"},
      {"fractional_depth", train({"depth=2.5"}), 2, "key 'depth': expected an integer"},
      {"unknown_key", train({"alpah=1"}), 2, "unknown key 'alpah' (did you mean 'alpha'?)"},
      {"bool_as_text", train({"qk_norm=yes"}), 2, "key 'qk_norm': expected true or false"},
      {"missing_equals", train({"alpha"}), 2, "expected KEY=VALUE"},
      {"sincos_width", train({"posemb=sincos2d", "width=66", "heads=3"}), 2,
       "needs width divisible by 4"},
      {"no_attention_class_token", train({"attn=none", "pool=cls"}), 2,
       "attn none with pool cls: without attention the class token never meets the patches"},
      {"unknown_preset", train({"model=Q/16"}), 2,
       "expected one of nano, micro, mini, Ti, S, B, L"},
      {"bad_patch_suffix", train({"model=S/0"}), 2, "optionally followed by /PATCH"},
      {"label_smoothing_range", train({"label_smoothing=2"}), 2, "key 'label_smoothing'"},
      {"val_fraction_range", train({"val_fraction=0.9"}), 2, "expected a number in [0, 0.5]"},
      {"negative_subset", train({"train_subset=-5"}), 2, "key 'train_subset'"},
      {"negative_seed", train({"seed=-1"}), 2, "key 'seed'"},
      {"negative_threads", train({"threads=-2"}), 2, "key 'threads'"},
      {"zero_ranks", train({"ranks=0"}), 2, "key 'ranks'"},
      {"uneven_ranks", train({"ranks=3"}), 2, "batch_size 128 does not split evenly over ranks 3"},
      {"ranks_without_launcher", train({"ranks=2"}), 2, "ranks=2 needs 2 MPI ranks: start it with"},
      {"unknown_precision", train({"precision=fp16"}), 2, "expected one of f32, bf16"},
      {"unknown_dataset", train({"dataset=imagenet"}), 2, "key 'dataset': expected one of"},
      {"crop_without_padding", train({"augment=crop", "crop_padding=0"}), 2,
       "needs crop_padding >= 1"},
      {"zero_eps", train({"eps=0"}), 2, "key 'eps'"},
      {"beta_above_one", train({"beta1=1.5"}), 2, "key 'beta1'"},
      {"subset_larger_than_data",
       train({"dataset=synthetic", "synthetic_train=100", "train_subset=500"}), 2, "train_subset"},
      {"resume_and_init",
       {"train", "--resume", "/etc/hostname", "--init-from", "/etc/hostname"},
       2,
       "--resume and --init-from cannot be combined"},
      {"missing_config_file", {"train", "--config", "/nonexistent.json"}, 2, "/nonexistent.json"},
      {"unknown_command", {"trian"}, 2, "unknown command 'trian' (did you mean 'train'?)"},
      // Taken as plain text like any non-literal, and named in a line cut short.
      {"set_nested_60k", train({kNestedSetting.text()}), 2,
       "--set alpha=" + std::string(51, '[') +
           "...: key 'alpha': expected a number in [-16, 16], "
           "got \"" +
           std::string(36, '[') + "..."},
  };
}

// Sweep files and config files written into the test's folder.
std::vector<std::pair<std::string, std::string>> files() {
  return {
      {"malformed.json", "{\n  \"name\": \"x\",\n  \"grid\": {\"alpha\": [0, 1,]}\n}"},
      {"gird.json", R"({"name": "x", "gird": {"alpha": [0]}})"},
      {"wrong_type.json", R"({"name": "x", "grid": {"alpha": [0, 0.5, 1, "one"]}})"},
      {"empty_grid.json", R"({"name": "x", "grid": {"alpha": []}})"},
      {"duplicate.json", R"({"name": "x", "grid": {"alpha": [0], "alpha": [1]}})"},
      {"zip_lengths.json", R"({"name": "x", "zip": [{"width": [64, 128], "heads": [2]}]})"},
      {"zero_step.json", R"({"name": "x", "grid": {"alpha": {"range": [0, 1, 0]}}})"},
      {"bad_trial.json", R"({"name": "x", "grid": {"width": [64, 100], "heads": [8]}})"},
      {"nan_text.json", R"({"name": "x", "grid": {"alpha": ["NaN"]}})"},
      {"no_name.json", R"({"grid": {"alpha": [0]}})"},
      {"bad_seeds.json", R"({"name": "x", "seeds": -1})"},
      {"unknown_config_key.json", R"({"name": "x", "base": {"learning_rate": 0.1}})"},
      {"huge.json", R"({"name": "x", "grid": {"alpha": {"linspace": [0, 2, 1000]},
        "lr": {"linspace": [0.0001, 0.01, 1000]}, "seed": {"range": [0, 999, 1]},
        "attn": ["relu"]}})"},
      {"config_not_object.json", "[1, 2]"},
      {"config_duplicate.json", R"({"alpha": 1, "alpha": 2})"},
      {"nested_sweep.json", kNestedSweep.text()},
      {"nested_config.json", kNestedConfig.text()},
      {"trial/config.json", kNestedConfig.text()},
  };
}

std::vector<BadInput> file_cases() {
  return {
      {"sweep_malformed", {"plan", "malformed.json"}, 2, "malformed.json:3:"},
      {"sweep_unknown_top_key",
       {"plan", "gird.json"},
       2,
       "unknown key 'gird' (did you mean 'grid'?)"},
      {"sweep_wrong_type",
       {"plan", "wrong_type.json"},
       2,
       "grid.alpha[3]: expected a number in [-16, 16], got \"one\""},
      {"sweep_empty_grid", {"plan", "empty_grid.json"}, 2, "grid.alpha"},
      {"sweep_duplicate_key", {"plan", "duplicate.json"}, 2, "duplicate key 'grid.alpha'"},
      {"sweep_zip_lengths", {"plan", "zip_lengths.json"}, 2, "zip[0]"},
      {"sweep_zero_step", {"plan", "zero_step.json"}, 2, "grid.alpha"},
      {"sweep_bad_trial",
       {"plan", "bad_trial.json"},
       2,
       "trial 1 (width=100, heads=8): width 100 is not divisible by heads 8"},
      {"sweep_nan_text", {"plan", "nan_text.json"}, 2, "got \"NaN\""},
      {"sweep_no_name", {"plan", "no_name.json"}, 2, "name"},
      {"sweep_bad_seeds", {"plan", "bad_seeds.json"}, 2, "seeds"},
      {"sweep_unknown_config_key",
       {"plan", "unknown_config_key.json"},
       2,
       "unknown config key 'learning_rate'"},
      {"sweep_millions_refused",
       {"run", "huge.json", "--db", "huge.db"},
       2,
       "up to 1000000000 trials"},
      {"config_not_object",
       {"train", "--config", "config_not_object.json"},
       2,
       "expected an object"},
      {"config_duplicate",
       {"train", "--config", "config_duplicate.json"},
       2,
       "duplicate key 'alpha'"},
      {"sweep_nested_100k",
       {"plan", "nested_sweep.json"},
       2,
       kNestedSweep.error("nested_sweep.json")},
      {"config_nested_100k",
       {"train", "--config", "nested_config.json"},
       2,
       kNestedConfig.error("nested_config.json")},
      {"worker_config_nested_100k",
       {"worker", "trial"},
       2,
       kNestedConfig.error("trial/config.json")},
      {"mnist_missing", train({"dataset=mnist", "data_dir=/nonexistent"}), 1,
       "mnist not found in /nonexistent"},
      {"fashion_missing", train({"data_dir=/nonexistent"}), 1,
       "apt-get install dataset-fashion-mnist"},
      {"fashion_truncated", train({"data_dir=truncated"}), 1,
       "truncated/train-images-idx3-ubyte.gz"},
  };
}

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir.file("trial"));
    for (const auto& [name, text] : files()) testing::write_file(dir.file(name), text);
    // A Fashion-MNIST folder whose training images are cut short mid-stream.
    std::filesystem::create_directories(dir.file("truncated"));
    for (const char* f :
         {"train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) {
      std::filesystem::copy_file(std::string("/usr/share/datasets/fashion-mnist/") + f,
                                 dir.file(std::string("truncated/") + f));
    }
    const std::string images =
        testing::read_file("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
    testing::write_file(dir.file("truncated/train-images-idx3-ubyte.gz"),
                        images.substr(0, images.size() / 3));
  }
  TempDir dir;
};

// CPU seconds (user + system) used so far by this process's finished, reaped children.
double children_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_CHILDREN, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

TEST_F(BadInputTest, EveryCaseExitsWithOneClearLine) {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) {
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  }
  std::vector<BadInput> cases = config_cases();
  for (auto& c : file_cases()) cases.push_back(c);
  for (const BadInput& c : cases) {
    const double cpu_before = children_cpu_seconds();
    const auto r = testing::run_sweep(c.args, dir.path());
    const double seconds = children_cpu_seconds() - cpu_before;
    EXPECT_EQ(r.exit_code, c.exit_code) << c.name << ": " << r.err;
    EXPECT_THAT(r.err, ::testing::HasSubstr(c.expected)) << c.name;
    const bool usage_hint = r.err.find("Run 'sweep --help'") != std::string::npos;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), usage_hint ? 2 : 1)
        << c.name << " printed more than one line:\n"
        << r.err;
    EXPECT_LT(r.err.size(), 400u) << c.name << " printed a line too long to read";
    EXPECT_TRUE(r.out.empty() || c.args[0] == "plan") << c.name << " wrote to stdout: " << r.out;
    // Not a speed target: expanding the 10^9-trial grid would take hours of CPU, every refusal
    // takes well under a CPU second. CPU time, unlike wall time, does not stretch on a loaded
    // machine.
    EXPECT_LT(seconds, 10.0) << c.name << " used too much CPU (a huge grid must not be expanded)";
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("huge.db")))
      << "nothing stored for a refused sweep";
  RecordProperty("bad_inputs", static_cast<int>(cases.size()));
  std::printf("bad inputs tried: %zu\n", cases.size());
}

}  // namespace
}  // namespace vitsweep
