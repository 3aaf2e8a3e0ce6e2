// `sweep bench`'s cases and its --vs-pytorch plumbing, without asserting on any timing: the
// sweeps' cases have the shapes the sweeps train, and the twin's figure reaches the JSON (a fake
// interpreter stands in for PyTorch, printing what bench_twin.py prints).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "engine/benchmark.hpp"
#include "engine/model_shape.hpp"
#include "engine/threads.hpp"
#include "engine/trainer.hpp"
#include "support/temp_dir.hpp"
#include "support/thrown.hpp"

namespace vitsweep::engine {
namespace {

TrialConfig config_of(const std::string& name) {
  const auto& cases = benchmark_cases();
  const auto it =
      std::find_if(cases.begin(), cases.end(), [&](const auto& c) { return c.name == name; });
  if (it == cases.end()) ADD_FAILURE() << "no case " << name;
  return parse_trial_config(it->settings, name);
}

TEST(BenchmarkCases, TheSweepsNanoAndMicroTrials) {
  struct Expected {
    std::string name;
    int64_t width, depth, heads;
  };
  for (const Expected& e :
       {Expected{"fmnist-nano", 32, 2, 2}, Expected{"fmnist-micro", 64, 4, 4}}) {
    SCOPED_TRACE(e.name);
    const TrialConfig config = config_of(e.name);
    const ModelShape shape = ModelShape::from_config(config);
    EXPECT_EQ(shape.tokens, 49);  // 28x28 in 4x4 patches
    EXPECT_EQ(shape.width, e.width);
    EXPECT_EQ(shape.depth, e.depth);
    EXPECT_EQ(shape.heads, e.heads);
    EXPECT_EQ(shape.classes, 10);
    EXPECT_EQ(config.batch_size, 128);
    EXPECT_TRUE(config.qk_norm);
    EXPECT_EQ(config.optimizer, "adamw");
    EXPECT_EQ(config.precision, "f32");
  }
}

// A stand-in for /usr/bin/python3: "import torch" succeeds, and bench_twin.py's run prints the
// JSON the real one prints, with the given tokens and 40 ms per step.
std::string fake_python(const testing::TempDir& dir, int tokens) {
  const std::string path = dir.file("python3");
  testing::write_file(path, fmt::format(R"(#!/bin/sh
case "$*" in *"import torch"*) exit 0;; esac
echo '{{"torch_version": "fake", "blas": [], "configs": [{{"name": "fmnist-nano",
  "attn": "relu", "batch": 128, "ms_per_step": 40.0, "tokens": {}}}]}}'
)",
                                        tokens));
  ::chmod(path.c_str(), 0755);
  return path;
}

BenchmarkRequest nano_relu_request(const testing::TempDir& dir, int twin_tokens) {
  BenchmarkRequest request;
  request.cases = {"fmnist-nano"};
  request.attns = {"relu"};
  request.options.warmup_steps = 0;
  request.options.steps = 1;
  request.threads = 1;
  request.pytorch = PytorchTwin{.python = fake_python(dir, twin_tokens),
                                .script = VITSWEEP_SOURCE_DIR "/tests/reference/bench_twin.py"};
  return request;
}

TEST(BenchmarkAttentionCore, RefusesAModelWithoutAttention) {
  BenchmarkRequest request;
  request.attention_core = true;
  request.cases = {"fmnist-mini"};
  request.attns = {"relu", "none"};
  const std::string message =
      testing::thrown_message([&] { run_benchmarks(request, [](const std::string&) {}); });
  EXPECT_NE(message.find("attn none does not have"), std::string::npos) << message;
}

TEST(BenchmarkVsPytorch, PutsTheTwinsTimeAndTheRatioBesideTheEngines) {
  testing::TempDir dir;
  const OrderedJson out = run_benchmarks(nano_relu_request(dir, 49), [](const std::string&) {});
  ASSERT_EQ(out["configs"].size(), 1u);
  const OrderedJson& result = out["configs"][0];
  EXPECT_EQ(result["pytorch"]["ms_per_step"], 40.0);
  EXPECT_EQ(result["pytorch"]["torch_version"], "fake");
  EXPECT_DOUBLE_EQ(result["engine_speedup"].get<double>(),
                   40.0 / result["ms_per_step"].get<double>());
  // The engine's steps run as a trial's do: nano/4 on one thread in micro-batches of 20 images.
  EXPECT_EQ(result["micro_batch"], 20);
}

TEST(BenchmarkTraining, AMicroBatchOfTheWholeBatchTimesOnePass) {
  testing::TempDir dir;
  BenchmarkRequest request = nano_relu_request(dir, 49);
  request.pytorch.reset();
  request.options.micro_batch = 128;
  const OrderedJson out = run_benchmarks(request, [](const std::string&) {});
  ASSERT_EQ(out["configs"].size(), 1u);
  EXPECT_EQ(out["configs"][0]["micro_batch"], 128);
}

// --trial runs a real trial (the Fashion-MNIST files, every epoch's evaluation): its accuracy is
// the one a Trainer reaches on the same settings, and its parts are within its whole time.
bool have_fashion_mnist() {
  return std::filesystem::is_directory(data::default_data_dir("fashion-mnist"));
}

TEST(BenchmarkTrial, TimesTheTrialASweepWouldRun) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "apt-get install dataset-fashion-mnist to run this";
  ThreadBudget threads(1);
  BenchmarkRequest request;
  request.whole_trial = true;
  request.cases = {"fmnist-nano"};
  request.attns = {"relu"};
  request.threads = 1;
  request.options.settings = {"train_subset=512", "epochs=2"};
  std::vector<std::string> lines;
  const OrderedJson out =
      run_benchmarks(request, [&](const std::string& line) { lines.push_back(line); });
  ASSERT_EQ(out["trials"].size(), 1u);
  const OrderedJson& trial = out["trials"][0];
  EXPECT_EQ(trial["mode"], "trial");
  EXPECT_EQ(trial["outcome"], "done");
  EXPECT_EQ(trial["epochs"], 2);
  EXPECT_EQ(trial["train_images"], 512);
  EXPECT_EQ(trial["test_images"], 10000);
  EXPECT_EQ(trial["micro_batch"], 20);

  OrderedJson settings = benchmark_cases()[1].settings;
  ASSERT_EQ(benchmark_cases()[1].name, "fmnist-nano");
  settings["attn"] = "relu";
  settings["train_subset"] = 512;
  settings["epochs"] = 2;
  settings["threads"] = 1;
  const TrialConfig config = parse_trial_config(settings, "nano");
  const data::Dataset dataset = data::load_dataset(config);
  Trainer trainer(config, dataset);
  EXPECT_EQ(trial["test_acc"].get<double>(), trainer.run().final_test.accuracy);

  double parts = 0;
  for (const char* part : {"load_s", "build_s", "train_s", "evaluate_s"}) {
    EXPECT_GT(trial[part].get<double>(), 0.0) << part;
    parts += trial[part].get<double>();
  }
  EXPECT_LE(parts, trial["total_s"].get<double>() + 1e-9);
  // 2 epochs of 4 whole batches of 128 (512 images), 10,000 test images after each.
  EXPECT_NEAR(trial["train_img_per_s"].get<double>() * trial["train_s"].get<double>(), 1024, 1e-6);
  EXPECT_NEAR(trial["evaluate_img_per_s"].get<double>() * trial["evaluate_s"].get<double>(), 20000,
              1e-6);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("fmnist-nano relu trial"), std::string::npos) << lines[0];
}

// A stand-in for /usr/bin/python3 whose bench_twin.py --trial prints a whole trial of 8 s on
// `train_images` images, after checking that it was asked for 2 epochs of that many.
std::string fake_python_trial(const testing::TempDir& dir, int train_images) {
  const std::string path = dir.file("python3");
  testing::write_file(path, fmt::format(R"(#!/bin/sh
case "$*" in *"import torch"*) exit 0;; esac
case "$*" in *"--trial --epochs 2 --train-subset 512"*) ;; *) echo "asked: $*" >&2; exit 3;; esac
echo '{{"torch_version": "fake", "blas": [], "configs": [{{"name": "fmnist-nano",
  "attn": "relu", "mode": "trial", "batch": 128, "tokens": 49, "epochs": 2,
  "train_images": {}, "test_images": 10000, "total_s": 8.0}}]}}'
)",
                                        train_images));
  ::chmod(path.c_str(), 0755);
  return path;
}

BenchmarkRequest nano_relu_trial_request(const testing::TempDir& dir, int twin_train_images) {
  BenchmarkRequest request = nano_relu_request(dir, 49);
  request.whole_trial = true;
  request.options.settings = {"train_subset=512", "epochs=2"};
  request.pytorch->python = fake_python_trial(dir, twin_train_images);
  return request;
}

TEST(BenchmarkTrial, PutsTheTwinsWholeTrialBesideTheEngines) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "apt-get install dataset-fashion-mnist to run this";
  testing::TempDir dir;
  const OrderedJson out =
      run_benchmarks(nano_relu_trial_request(dir, 512), [](const std::string&) {});
  ASSERT_EQ(out["trials"].size(), 1u);
  const OrderedJson& trial = out["trials"][0];
  EXPECT_EQ(trial["pytorch"]["total_s"], 8.0);
  EXPECT_DOUBLE_EQ(trial["engine_speedup"].get<double>(), 8.0 / trial["total_s"].get<double>());
}

TEST(BenchmarkTrial, ATwinTrialOfAnotherLengthIsAnError) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "apt-get install dataset-fashion-mnist to run this";
  testing::TempDir dir;
  const std::string message = testing::thrown_message(
      [&] { run_benchmarks(nano_relu_trial_request(dir, 640), [](const std::string&) {}); });
  EXPECT_EQ(message,
            "--vs-pytorch: the twin's fmnist-nano trial has train_images 640, the engine's 512");
}

TEST(BenchmarkTrial, TheTwinFollowsOnlyTheTrialsLength) {
  testing::TempDir dir;
  BenchmarkRequest request = nano_relu_trial_request(dir, 512);
  request.options.settings.push_back("qk_norm=false");
  EXPECT_EQ(testing::thrown_message([&] { run_benchmarks(request, [](const std::string&) {}); }),
            "--vs-pytorch: the PyTorch twin cannot apply --set qk_norm=false (with --trial: only "
            "epochs and train_subset)");
}

TEST(BenchmarkTrial, RefusesMaxStepsAndAMicroBatchSize) {
  BenchmarkRequest request;
  request.whole_trial = true;
  request.cases = {"fmnist-nano"};
  request.attns = {"relu"};
  request.options.settings = {"max_steps=3"};
  EXPECT_EQ(testing::thrown_message([&] { run_benchmarks(request, [](const std::string&) {}); }),
            "--trial times whole epochs: leave out --set max_steps (set epochs instead)");
  request.options.settings.clear();
  request.options.micro_batch = 128;
  EXPECT_EQ(testing::thrown_message([&] { run_benchmarks(request, [](const std::string&) {}); }),
            "--trial runs micro-batches as a trial does: leave out --micro-batch");
}

TEST(BenchmarkTrial, RefusesTheAttentionCore) {
  BenchmarkRequest request;
  request.whole_trial = true;
  request.cases = {"fmnist-nano"};
  request.attention_core = true;
  EXPECT_EQ(testing::thrown_message([&] { run_benchmarks(request, [](const std::string&) {}); }),
            "--trial and --attention: choose one");
}

TEST(BenchmarkVsPytorch, ATwinOfAnotherShapeIsAnError) {
  testing::TempDir dir;
  const std::string message = testing::thrown_message(
      [&] { run_benchmarks(nano_relu_request(dir, 196), [](const std::string&) {}); });
  EXPECT_NE(message.find("196 tokens"), std::string::npos) << message;
}

TEST(BenchmarkVsPytorch, WithoutTorchSaysSoInOneLine) {
  testing::TempDir dir;
  BenchmarkRequest request = nano_relu_request(dir, 49);
  request.pytorch->python = "/bin/false";
  const std::string message =
      testing::thrown_message([&] { run_benchmarks(request, [](const std::string&) {}); });
  EXPECT_EQ(message,
            "--vs-pytorch: /bin/false cannot import torch (Debian package python3-torch); run "
            "without --vs-pytorch to time the engine alone");
}

}  // namespace
}  // namespace vitsweep::engine
