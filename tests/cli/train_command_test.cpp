// `sweep train`, `sweep config show` and `sweep worker` end to end, with the real program:
// initialise-only runs export their weights, a max_steps stop inside an epoch is reported as
// unfinished and resumes at its step, a resume that would change the schedule is refused, the
// model is described as it is built (no heads without attention), and the resolved model sizes
// are printed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "common/json.hpp"
#include "data/dataset.hpp"
#include "engine/safetensors.hpp"
#include "engine/trainer.hpp"
#include "support/process.hpp"

namespace vitsweep {
namespace {

using ::testing::HasSubstr;
using testing::run_sweep;
using testing::TempDir;

// 64 synthetic images in batches of 16: 4 steps per epoch.
const std::vector<std::string> kSmall = {
    "--set", "dataset=synthetic", "--set", "synthetic_train=64", "--set", "synthetic_test=32",
    "--set", "model=nano/4",      "--set", "batch_size=16",      "--set", "threads=1",
    "--set", "augment=crop+flip", "--set", "warmup_steps=2",     "--set", "lr=0.01"};

std::vector<std::string> train_args(std::vector<std::string> extra) {
  std::vector<std::string> args = {"train"};
  args.insert(args.end(), kSmall.begin(), kSmall.end());
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

Json json_result(const testing::CommandResult& r) {
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return Json::parse(r.out);
}

TEST(TrainCommand, InitialiseOnlyWithSaveWritesTheInitialWeights) {
  TempDir dir;
  const auto r = run_sweep(
      train_args({"--set", "max_steps=0", "--set", "seed=4", "--save", "init.safetensors"}),
      dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(std::filesystem::exists(dir.file("init.safetensors"))) << r.out;
  EXPECT_THAT(r.out, HasSubstr("init.safetensors"));

  // The file holds exactly the weights a fresh model of that config and seed starts from.
  const TrialConfig config = parse_trial_config({{"dataset", "synthetic"},
                                                 {"synthetic_train", 64},
                                                 {"synthetic_test", 32},
                                                 {"model", "nano/4"},
                                                 {"batch_size", 16},
                                                 {"seed", 4}},
                                                "test");
  const data::Dataset dataset = data::load_dataset(config);
  engine::Trainer fresh(config, dataset);
  const engine::SafetensorsFile file = engine::SafetensorsFile::read(dir.file("init.safetensors"));
  for (const engine::TensorInfo& t : fresh.model().layout().tensors()) {
    const std::vector<float> stored = file.f32(t.name);
    ASSERT_EQ(static_cast<int64_t>(stored.size()), t.size) << t.name;
    EXPECT_EQ(std::memcmp(stored.data(), fresh.model().parameters().data() + t.offset,
                          stored.size() * sizeof(float)),
              0)
        << t.name;
  }
  const auto eval = run_sweep({"eval", "--checkpoint", "init.safetensors"}, dir.path());
  EXPECT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_THAT(eval.out, HasSubstr("after 0 epochs"));
}

TEST(TrainCommand, DescribesAModelWithoutAttentionWithoutHeads) {
  TempDir dir;
  const auto with = run_sweep(train_args({"--set", "max_steps=0"}), dir.path());
  ASSERT_EQ(with.exit_code, 0) << with.err;
  EXPECT_THAT(with.out, HasSubstr("depth 2 heads 2 mlp 128"));
  const auto without =
      run_sweep(train_args({"--set", "max_steps=0", "--set", "attn=none"}), dir.path());
  ASSERT_EQ(without.exit_code, 0) << without.err;
  EXPECT_THAT(without.out, HasSubstr("depth 2 mlp 128"));
  EXPECT_THAT(without.out, HasSubstr("attention: none\n"));
}

TEST(TrainCommand, MaxStepsInsideAnEpochIsReportedUnfinishedAndResumesAtItsStep) {
  TempDir dir;
  const Json whole =
      json_result(run_sweep(train_args({"--set", "epochs=2", "--json"}), dir.path()));
  ASSERT_EQ(whole["history"].size(), 2u);

  // 6 steps: epoch 1 (4 steps) and 2 of epoch 2's 4.
  const Json stopped =
      json_result(run_sweep(train_args({"--set", "epochs=2", "--set", "max_steps=6", "--save",
                                        "ck.safetensors", "--json"}),
                            dir.path()));
  EXPECT_EQ(stopped["status"], "done");
  EXPECT_EQ(stopped["steps"], 6);
  EXPECT_EQ(stopped["epochs_done"], 1);
  ASSERT_EQ(stopped["history"].size(), 1u) << "epoch 2 is not finished";
  EXPECT_EQ(stopped["partial_epoch"]["epoch"], 2);
  EXPECT_EQ(stopped["partial_epoch"]["steps_in_epoch"], 2);
  EXPECT_THAT(stopped["message"].get<std::string>(), HasSubstr("max_steps"));

  const Json resumed = json_result(run_sweep(
      train_args({"--set", "epochs=2", "--resume", "ck.safetensors", "--json"}), dir.path()));
  EXPECT_EQ(resumed["steps"], 8);
  ASSERT_EQ(resumed["history"].size(), 2u);
  for (size_t e = 0; e < 2; ++e) {
    for (const char* key : {"step", "train_loss", "train_acc", "lr"}) {
      EXPECT_EQ(resumed["history"][e][key], whole["history"][e][key])
          << "epoch " << e + 1 << " " << key;
    }
    EXPECT_EQ(resumed["history"][e]["test"], whole["history"][e]["test"]) << "epoch " << e + 1;
  }
  EXPECT_EQ(resumed["test_loss"], whole["test_loss"]);
  EXPECT_EQ(resumed["train_loss"], whole["train_loss"]);
}

TEST(TrainCommand, ResumeWithOtherEpochsIsRefusedInOneLine) {
  TempDir dir;
  ASSERT_EQ(run_sweep(train_args({"--set", "epochs=1", "--save", "ck.safetensors"}), dir.path())
                .exit_code,
            0);
  const auto r =
      run_sweep(train_args({"--set", "epochs=3", "--resume", "ck.safetensors"}), dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("ck.safetensors: cannot resume with epochs=3"));
  EXPECT_THAT(r.err, HasSubstr("epochs=1"));
  EXPECT_THAT(r.err, HasSubstr("--init-from ck.safetensors"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(ConfigShow, PrintsTheResolvedModelSizes) {
  TempDir dir;
  auto show = [&](std::vector<std::string> settings) {
    std::vector<std::string> args = {"config", "show"};
    for (const auto& s : settings) {
      args.push_back("--set");
      args.push_back(s);
    }
    return json_result(run_sweep(args, dir.path()));
  };
  const Json narrow = show({"width=48", "heads=3"});
  EXPECT_EQ(narrow["width"], 48);
  EXPECT_EQ(narrow["mlp_dim"], 192);
  EXPECT_EQ(narrow["depth"], 6);
  EXPECT_EQ(narrow["patch"], 4);
  const Json small = show({"model=S/16", "dataset=synthetic", "synthetic_size=32"});
  EXPECT_EQ(small["width"], 384);
  EXPECT_EQ(small["depth"], 12);
  EXPECT_EQ(small["heads"], 6);
  EXPECT_EQ(small["mlp_dim"], 1536);
  EXPECT_EQ(small["patch"], 16);
}

// The trial protocol: "epoch" events only for finished epochs; the "end" outcome says how far a
// max_steps stop got.
TEST(Worker, MaxStepsInsideAnEpochSendsNoEpochEventAndAnHonestEnd) {
  TempDir dir;
  const std::string trial = dir.file("trial");
  std::filesystem::create_directories(trial);
  testing::write_file(trial + "/config.json",
                      R"({"dataset": "synthetic", "synthetic_train": 64, "synthetic_test": 32,
                          "model": "nano/4", "batch_size": 16, "epochs": 3, "max_steps": 6})");
  const auto r = run_sweep({"worker", trial, "--threads", "1"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<Json> epochs;
  Json end;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    const Json event = Json::parse(line);
    if (event["event"] == "epoch") epochs.push_back(event["record"]);
    if (event["event"] == "end") end = event["outcome"];
  }
  ASSERT_EQ(epochs.size(), 1u);
  EXPECT_EQ(epochs[0]["step"], 4);
  ASSERT_TRUE(end.is_object()) << r.out;
  EXPECT_EQ(end["status"], "done");
  EXPECT_EQ(end["steps"], 6);
  EXPECT_EQ(end["epochs_done"], 1);
  EXPECT_EQ(end["epochs"].size(), 1u);
  EXPECT_EQ(end["partial_epoch"]["epoch"], 2);
  EXPECT_EQ(end["partial_epoch"]["steps_in_epoch"], 2);
  EXPECT_THAT(end["message"].get<std::string>(), HasSubstr("max_steps"));
}

}  // namespace
}  // namespace vitsweep
