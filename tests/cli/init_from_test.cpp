// `sweep train --init-from` with a PyTorch state dict under timm's names and no vitsweep metadata
// (tests/fixtures/pytorch): the program takes the model from --config/--set and the normalisation
// from the data set, says so, and evaluates or fine-tunes the file's weights; what does not fit
// is refused in one line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "data/dataset.hpp"
#include "engine/trainer.hpp"
#include "support/process.hpp"
#include "support/pytorch_fixtures.hpp"

namespace vitsweep {
namespace {

using ::testing::HasSubstr;

class InitFromPyTorch : public ::testing::TestWithParam<std::string> {
 protected:
  InitFromPyTorch()
      : settings(testing::pytorch_fixture_config(GetParam(), {{"synthetic_train", 64},
                                                              {"synthetic_test", 32},
                                                              {"batch_size", 16},
                                                              {"threads", 1}})) {
    testing::write_file(dir.file("config.json"), settings.dump());
  }
  testing::CommandResult train(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"train", "--config", "config.json", "--init-from",
                                     testing::pytorch_fixture(GetParam())};
    args.insert(args.end(), extra.begin(), extra.end());
    return testing::run_sweep(args, dir.path());
  }
  testing::TempDir dir;
  OrderedJson settings;
};

TEST_P(InitFromPyTorch, MaxStepsZeroEvaluatesTheFilesWeightsAndSaysWhereTheRestComesFrom) {
  const auto r = train({"--set", "max_steps=0", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("note: " + testing::pytorch_fixture(GetParam()) +
                               " is a PyTorch state dict without vitsweep metadata: the model is "
                               "the one --config/--set describe, and images are normalised with "
                               "synthetic's own statistics (mean ["));
  const OrderedJson result = OrderedJson::parse(r.out);
  // The same file on the same data in this process (initialize_from is checked against the twin's
  // logits in engine_checkpoint_interop_test), and not what the fresh initialisation gives.
  const TrialConfig config = parse_trial_config(settings, "config.json");
  const data::Dataset dataset = data::load_dataset(config);
  engine::Trainer loaded(config, dataset);
  loaded.initialize_from(testing::pytorch_fixture(GetParam()));
  const Evaluation expected = loaded.evaluate(dataset.test);
  EXPECT_NEAR(result["test_loss"].get<double>(), expected.loss, 1e-7 * expected.loss);
  EXPECT_EQ(result["test_acc"].get<double>(), expected.accuracy);
  engine::Trainer fresh(config, dataset);
  EXPECT_GT(std::abs(fresh.evaluate(dataset.test).loss - expected.loss), 1e-4);
}

TEST_P(InitFromPyTorch, FineTunedWeightsBecomeACheckpointThatEvalReads) {
  const auto r = train({"--set", "epochs=1", "--save", "tuned.safetensors"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto e =
      testing::run_sweep({"eval", "--checkpoint", "tuned.safetensors", "--json"}, dir.path());
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(OrderedJson::parse(e.out)["epochs_trained"], 1);
}

INSTANTIATE_TEST_SUITE_P(Files, InitFromPyTorch,
                         ::testing::Values("vit_gap", "vit_cls_qknorm", "vit_gap_bf16"));

int64_t line_count(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

TEST(InitFromPyTorchRefusals, AConfigWhoseModelDiffersIsOneLineNamingTheTensor) {
  testing::TempDir dir;
  const std::string file = testing::pytorch_fixture("vit_gap");
  testing::write_file(dir.file("config.json"), testing::pytorch_fixture_config("vit_gap").dump());
  const auto r = testing::run_sweep(
      {"train", "--config", "config.json", "--set", "pool=cls", "--init-from", file}, dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(file + ": no tensor 'cls_token' [1, 1, 16], which the model of this "
                                      "config needs (pool=cls has a class token, pool=gap none)"));
  EXPECT_EQ(line_count(r.err), 1) << r.err;
}

TEST(InitFromPyTorchRefusals, EvalAndResumeNeedACheckpointAndSayHowToUseTheFile) {
  testing::TempDir dir;
  const std::string file = testing::pytorch_fixture("vit_gap");
  for (const auto& args :
       {std::vector<std::string>{"eval", "--checkpoint", file},
        std::vector<std::string>{"train", "--set", "dataset=synthetic", "--resume", file}}) {
    const auto r = testing::run_sweep(args, dir.path());
    EXPECT_EQ(r.exit_code, 1) << args[0];
    EXPECT_THAT(r.err, HasSubstr(file + ": a PyTorch state dict without vitsweep metadata"));
    EXPECT_THAT(r.err, HasSubstr("start from it with 'sweep train --init-from " + file + "'"));
    EXPECT_EQ(line_count(r.err), 1) << r.err;
  }
}

}  // namespace
}  // namespace vitsweep
