// The trainer's runs and resumes: a run stopped by max_steps inside an epoch does not count that
// epoch as finished, and resumed from its checkpoint it ends bit-identical to an uninterrupted
// run (same seed and threads); a resume that would change the learning-rate schedule is refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <optional>

#include "data/dataset.hpp"
#include "engine/build_info.hpp"
#include "engine/checkpoint.hpp"
#include "engine/trainer.hpp"
#include "support/temp_dir.hpp"
#include "support/thrown.hpp"

namespace vitsweep::engine {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::thrown_message;

// 96 synthetic images in batches of 16: 6 steps per epoch, 3 epochs, 18 steps. Augmented and
// shuffled, so a resume must replay the right epoch's order and crops to match.
TrialConfig small_config(const OrderedJson& overrides = OrderedJson::object()) {
  OrderedJson settings = {{"dataset", "synthetic"},
                          {"synthetic_size", 8},
                          {"synthetic_classes", 4},
                          {"synthetic_train", 96},
                          {"synthetic_test", 32},
                          {"patch", 4},
                          {"width", 16},
                          {"heads", 2},
                          {"depth", 1},
                          {"mlp_dim", 32},
                          {"batch_size", 16},
                          {"epochs", 3},
                          {"warmup_steps", 2},
                          {"lr", 0.01},
                          {"augment", "crop+flip"},
                          {"seed", 3}};
  for (const auto& [key, value] : overrides.items()) settings[key] = value;
  return parse_trial_config(settings, "test");
}

struct TrainingRun {
  TrialOutcome outcome;
  std::vector<float> parameters;
  int64_t epochs_reported = 0;  // on_epoch calls
};

// Trains (resumed from `resume` if given), saves to `save` if given. `interrupt_after`: asks the
// run to stop after that many steps, as Ctrl-C does.
TrainingRun train(const TrialConfig& config, const data::Dataset& dataset,
                  const std::string& resume = "", const std::string& save = "",
                  int64_t interrupt_after = -1) {
  Trainer trainer(config, dataset);
  if (!resume.empty()) trainer.resume_from(resume);
  TrainingRun run;
  TrainerCallbacks callbacks;
  callbacks.on_epoch = [&](const EpochRecord&) { ++run.epochs_reported; };
  callbacks.should_stop = [&] {
    return interrupt_after >= 0 && trainer.optimizer().steps() >= interrupt_after;
  };
  run.outcome = trainer.run(callbacks);
  if (!save.empty()) trainer.save_checkpoint(save);
  const FloatBuffer& p = trainer.model().parameters();
  run.parameters.assign(p.data(), p.data() + p.size());
  return run;
}

// Every epoch's record and every weight equal, bit for bit.
void expect_same_run(const TrainingRun& a, const TrainingRun& b) {
  ASSERT_EQ(a.outcome.epochs.size(), b.outcome.epochs.size());
  for (size_t i = 0; i < a.outcome.epochs.size(); ++i) {
    const EpochRecord &x = a.outcome.epochs[i], &y = b.outcome.epochs[i];
    SCOPED_TRACE("epoch " + std::to_string(x.epoch));
    EXPECT_EQ(x.epoch, y.epoch);
    EXPECT_EQ(x.step, y.step);
    EXPECT_EQ(x.train_loss, y.train_loss);
    EXPECT_EQ(x.train_acc, y.train_acc);
    EXPECT_EQ(x.test.loss, y.test.loss);
    EXPECT_EQ(x.test.accuracy, y.test.accuracy);
    EXPECT_EQ(x.lr, y.lr);
  }
  EXPECT_EQ(a.outcome.final_test.loss, b.outcome.final_test.loss);
  EXPECT_TRUE(a.parameters.size() == b.parameters.size() &&
              std::memcmp(a.parameters.data(), b.parameters.data(),
                          a.parameters.size() * sizeof(float)) == 0)
      << "weights differ";
}

// A run stopped somewhere and saved to `checkpoint`, then resumed without the stop, must end as
// the uninterrupted run `whole` did.
class Resume : public ::testing::Test {
 protected:
  void expect_resume_matches_whole() {
    const TrainingRun resumed = train(config, dataset, checkpoint);
    expect_same_run(resumed, whole);
  }
  TempDir dir;
  const std::string checkpoint = dir.file("ck.safetensors");
  const TrialConfig config = small_config();
  const data::Dataset dataset = data::load_dataset(config);
  const TrainingRun whole = train(config, dataset);
};

TEST_F(Resume, InsideAnEpochAfterMaxStepsEndsBitIdenticalToAnUninterruptedRun) {
  ASSERT_EQ(whole.outcome.epochs.size(), 3u);
  EXPECT_EQ(whole.outcome.epochs.back().step, 18);
  // Stopped after step 8: epoch 2 has run 2 of its 6 steps. Then resumed without the limit.
  train(small_config({{"max_steps", 8}}), dataset, "", checkpoint);
  expect_resume_matches_whole();
}

TEST_F(Resume, InsideAnEpochAfterAnInterruptContinuesAtItsStep) {
  const TrainingRun interrupted = train(config, dataset, "", checkpoint, 15);
  EXPECT_EQ(interrupted.outcome.status, TrialStatus::killed);
  EXPECT_EQ(interrupted.outcome.steps, 15);
  EXPECT_EQ(interrupted.outcome.epochs_done, 2);
  expect_resume_matches_whole();
}

TEST_F(Resume, AtAnEpochBoundaryTheCheckpointKeepsTheOldFormat) {
  // Files written before the step within the epoch was recorded resume at their epoch boundary;
  // a checkpoint at a boundary is still written exactly that way.
  const TrainingRun stopped = train(small_config({{"max_steps", 12}}), dataset, "", checkpoint);
  EXPECT_FALSE(stopped.outcome.partial_epoch.has_value());
  EXPECT_THAT(stopped.outcome.message, HasSubstr("after 2 of 3 epochs"));
  EXPECT_FALSE(SafetensorsFile::read(checkpoint).metadata().contains("epoch_progress"));
  expect_resume_matches_whole();
}

// write_checkpoint replaces the pair in three atomic steps: the new optimizer state to the pending
// file, the weights, the pending file renamed over the optimizer file. A kill -9 between any two
// leaves files that resume where the weights say, built here by copying the two checkpoints'
// files into each in-between state.
TEST_F(Resume, AKillBetweenTheCheckpointsStepsLeavesAPairThatResumes) {
  namespace fs = std::filesystem;
  const std::string old_pair = dir.file("old.safetensors"), new_pair = dir.file("new.safetensors");
  train(small_config({{"max_steps", 8}}), dataset, "", old_pair);
  train(small_config({{"max_steps", 15}}), dataset, "", new_pair);
  EXPECT_FALSE(fs::exists(pending_optimizer_state_path(new_pair))) << "renamed at the end";
  auto lay_out = [&](const std::string& weights, const std::string& optimizer,
                     const std::string& pending) {
    const auto overwrite = fs::copy_options::overwrite_existing;
    fs::copy_file(weights, checkpoint, overwrite);
    fs::copy_file(optimizer_state_path(optimizer), optimizer_state_path(checkpoint), overwrite);
    fs::copy_file(optimizer_state_path(pending), pending_optimizer_state_path(checkpoint),
                  overwrite);
  };
  {
    SCOPED_TRACE("killed after the pending state, before the weights: resumes at step 8");
    lay_out(old_pair, old_pair, new_pair);
    expect_resume_matches_whole();
    EXPECT_EQ(train(small_config({{"max_steps", 9}}), dataset, checkpoint).outcome.steps, 9);
  }
  {
    SCOPED_TRACE("killed after the weights, before the rename: resumes at step 15");
    lay_out(new_pair, old_pair, new_pair);
    expect_resume_matches_whole();
    EXPECT_EQ(train(small_config({{"max_steps", 16}}), dataset, checkpoint).outcome.steps, 16);
  }
  {
    SCOPED_TRACE("killed before the rename at the first checkpoint: only the pending state");
    lay_out(new_pair, old_pair, new_pair);
    fs::remove(optimizer_state_path(checkpoint));
    expect_resume_matches_whole();
  }
  {
    SCOPED_TRACE("a pending state of a third step does not make a mismatched pair resumable");
    const std::string third = dir.file("third.safetensors");
    train(small_config({{"max_steps", 4}}), dataset, "", third);
    lay_out(new_pair, old_pair, third);
    Trainer resumed(config, dataset);
    EXPECT_THAT(thrown_message([&] { resumed.resume_from(checkpoint); }),
                HasSubstr("optimizer state is from step 8, the weights from step 15: the pair is "
                          "mismatched"));
  }
}

TEST_F(Resume, ProgressThatDoesNotContinueTheFinishedEpochsIsRefused) {
  Trainer fresh(config, dataset);
  write_checkpoint(checkpoint, config, fresh.model(), fresh.optimizer(), dataset.norm, 0, {},
                   EpochProgress{.epoch = 3, .steps = 2});
  Trainer resumed(config, dataset);
  EXPECT_THAT(thrown_message([&] { resumed.resume_from(checkpoint); }),
              HasSubstr(checkpoint + ": __metadata__.epoch_progress: step 2 of epoch 3 does not "
                                     "continue 0 finished epochs of 6 steps"));
}

// A checkpoint records the commit of the binary that wrote it; resuming it with the same binary
// says nothing more, and with another build says which two.
TEST_F(Resume, ACheckpointNamesItsBuildAndAResumeByAnotherBuildSaysSo) {
  train(small_config({{"max_steps", 4}}), dataset, "", checkpoint);
  const CheckpointInfo info = read_checkpoint_info(SafetensorsFile::read(checkpoint));
  EXPECT_EQ(info.commit, build_info().git_commit);
  Trainer resumed(config, dataset);
  EXPECT_EQ(resumed.resume_from(checkpoint), std::nullopt);

  EXPECT_EQ(different_build_note("ck.safetensors", "0123456789ab", "ba9876543210"),
            "ck.safetensors: written by commit 0123456789ab, and this binary is ba9876543210: the "
            "epochs before the resume come from that build (results may differ in their last "
            "digits from a run on one build)");
  EXPECT_EQ(different_build_note("ck", "0123456789ab", "0123456789ab"), std::nullopt);
  EXPECT_EQ(different_build_note("ck", "", "0123456789ab"), std::nullopt);  // before commits
  EXPECT_EQ(different_build_note("ck", "0123456789ab", "unknown"), std::nullopt);
  EXPECT_NE(different_build_note("ck", "0123456789ab", "0123456789ab-modified"), std::nullopt);
}

TEST(Trainer, MaxStepsInsideAnEpochLeavesThatEpochUnfinished) {
  const data::Dataset dataset = data::load_dataset(small_config());
  const TrainingRun stopped = train(small_config({{"max_steps", 8}}), dataset);
  const TrialOutcome& outcome = stopped.outcome;
  EXPECT_EQ(outcome.status, TrialStatus::done);
  ASSERT_EQ(outcome.epochs.size(), 1u) << "epoch 2 ran 2 of 6 steps: not finished";
  EXPECT_EQ(outcome.epochs[0].step, 6);
  EXPECT_EQ(stopped.epochs_reported, 1);
  EXPECT_EQ(outcome.steps, 8);
  EXPECT_EQ(outcome.epochs_done, 1);
  ASSERT_TRUE(outcome.partial_epoch.has_value());
  const PartialEpoch& partial = *outcome.partial_epoch;
  EXPECT_EQ(partial.steps_in_epoch, 2);
  EXPECT_EQ(partial.record.epoch, 2);
  EXPECT_EQ(partial.record.step, 8);
  EXPECT_TRUE(std::isfinite(partial.record.train_loss));
  // The final evaluation is of the model at the stop, not at the end of epoch 1.
  EXPECT_EQ(outcome.final_test.loss, partial.record.test.loss);
  EXPECT_NE(outcome.final_test.loss, outcome.epochs[0].test.loss);
  EXPECT_THAT(outcome.message, HasSubstr("stopped by max_steps=8 at step 8"));
  EXPECT_THAT(outcome.message, HasSubstr("2 of the 6 steps of epoch 2"));
}

TEST(Trainer, AnF32CheckpointResumesWithTheOtherAttentionKernel) {
  // The kernels are the same maths rounded differently: a run may continue on either (so a
  // checkpoint written before attn_kernel=auto picked fused still resumes), but not under bf16,
  // where only matmul rounds the core to bf16.
  TempDir dir;
  const std::string checkpoint = dir.file("ck.safetensors");
  const data::Dataset dataset = data::load_dataset(small_config());
  train(small_config({{"attn_kernel", "matmul"}, {"max_steps", 8}}), dataset, "", checkpoint);
  const TrainingRun resumed = train(small_config({{"attn_kernel", "fused"}}), dataset, checkpoint);
  EXPECT_EQ(resumed.outcome.steps, 18);
  train(small_config({{"attn_kernel", "matmul"}, {"precision", "bf16"}, {"max_steps", 8}}), dataset,
        "", checkpoint);
  Trainer fused_bf16(small_config({{"attn_kernel", "fused"}, {"precision", "bf16"}}), dataset);
  EXPECT_THAT(thrown_message([&] { fused_bf16.resume_from(checkpoint); }),
              HasSubstr("trained with attn_kernel=\"matmul\""));
}

TEST(Trainer, ResumeWithOtherEpochsIsRefusedUnderADecayingSchedule) {
  TempDir dir;
  const std::string checkpoint = dir.file("ck.safetensors");
  const data::Dataset dataset = data::load_dataset(small_config());
  train(small_config({{"epochs", 2}}), dataset, "", checkpoint);
  Trainer longer(small_config({{"epochs", 4}}), dataset);
  const std::string error = thrown_message([&] { longer.resume_from(checkpoint); });
  EXPECT_THAT(error, HasSubstr(checkpoint + ": cannot resume with epochs=4"));
  EXPECT_THAT(error, HasSubstr("epochs=2"));
  EXPECT_THAT(error, HasSubstr("--init-from"));
  EXPECT_EQ(error.find('\n'), std::string::npos) << "one line";
}

// A checkpoint written before a config key existed lacks it: it ran with what is now the key's
// default. Refused before: the §4 reproduction sweep's checkpoints from before simulate_s could
// not be resumed ("checkpoint config has no key 'simulate_s'").
TEST(Trainer, ACheckpointFromBeforeAKeyExistedResumesAtThatKeysDefault) {
  const TrialConfig config = small_config();
  OrderedJson older = to_json(config);
  older.erase("simulate_s");
  older.erase("gate");
  EXPECT_NO_THROW(check_resume_compatible(older, config, "ck.safetensors"));
  const std::string error = thrown_message([&] {
    check_resume_compatible(older, small_config({{"gate", "silu"}}), "ck.safetensors");
  });
  EXPECT_EQ(error,
            "ck.safetensors: cannot resume with gate=\"silu\": the checkpoint was written before "
            "'gate' existed, so it ran with the default \"none\"");
  // A key the checkpoint has is compared as ever.
  EXPECT_THAT(thrown_message([&] {
                check_resume_compatible(to_json(config), small_config({{"attn", "relu"}}), "ck");
              }),
              HasSubstr("cannot resume: the checkpoint was trained with attn="));
}

TEST(Trainer, UnderAConstantScheduleEpochsMayGrowOnResume) {
  TempDir dir;
  const std::string checkpoint = dir.file("ck.safetensors");
  const TrialConfig config = small_config({{"schedule", "constant"}});
  const data::Dataset dataset = data::load_dataset(config);
  const TrainingRun whole = train(config, dataset);
  train(small_config({{"schedule", "constant"}, {"epochs", 2}}), dataset, "", checkpoint);
  expect_same_run(train(config, dataset, checkpoint), whole);
}

// 64 tokens and an MLP of 1024: 256 KiB of hidden activation an image, so at 1 thread the trainer
// passes 2 images at a time (micro_batches.hpp), and on more than one thread the whole batch of 16.
TrialConfig micro_batched_config(int64_t threads, const OrderedJson& overrides = {}) {
  OrderedJson settings = {
      {"synthetic_size", 16}, {"patch", 2}, {"mlp_dim", 1024}, {"epochs", 1}, {"threads", threads}};
  for (const auto& [key, value] : overrides.items()) settings[key] = value;
  return small_config(settings);
}

TEST(Trainer, MicroBatchesTrainAsOnePassDoesUpToRounding) {
  // SGD: its update is proportional to the gradient, so the two runs' rounding stays rounding.
  // (AdamW's first steps move a weight by about lr whatever its gradient's size, so a gradient
  // near zero that rounds to the other sign moves it 2 lr the other way.)
  const OrderedJson sgd = {{"optimizer", "sgd"}, {"lr", 0.05}};
  const TrialConfig micro = micro_batched_config(1, sgd), whole = micro_batched_config(64, sgd);
  const data::Dataset dataset = data::load_dataset(micro);
  ASSERT_EQ(Trainer(micro, dataset).micro_batch(), 2);
  ASSERT_EQ(Trainer(whole, dataset).micro_batch(), 16);
  const TrainingRun a = train(micro, dataset), b = train(whole, dataset);
  ASSERT_EQ(a.outcome.epochs.size(), 1u);
  ASSERT_EQ(b.outcome.epochs.size(), 1u);
  const EpochRecord &x = a.outcome.epochs[0], &y = b.outcome.epochs[0];
  // Accuracies within one image: a logit tie within rounding may fall either way.
  EXPECT_NEAR(x.train_loss, y.train_loss, 1e-4 * y.train_loss);
  EXPECT_NEAR(x.train_acc, y.train_acc, 1.0 / 96 + 1e-12);
  // Evaluation too runs in micro-batches.
  EXPECT_NEAR(x.test.loss, y.test.loss, 1e-4 * y.test.loss);
  EXPECT_NEAR(x.test.accuracy, y.test.accuracy, 1.0 / 32 + 1e-12);
  double scale = 0, diff = 0;
  for (size_t i = 0; i < a.parameters.size(); ++i) {
    scale = std::max(scale, static_cast<double>(std::abs(b.parameters[i])));
    diff = std::max(diff, static_cast<double>(std::abs(a.parameters[i] - b.parameters[i])));
  }
  EXPECT_LE(diff, 1e-6 * scale);
  EXPECT_GT(diff, 0) << "the sums' order differs, so some weight should differ in its last bits";
}

TEST(Trainer, ARunInMicroBatchesResumesBitIdentical) {
  TempDir dir;
  const std::string checkpoint = dir.file("ck.safetensors");
  const TrialConfig config = micro_batched_config(1);
  const data::Dataset dataset = data::load_dataset(config);
  const TrainingRun whole = train(config, dataset);
  train(micro_batched_config(1, {{"max_steps", 4}}), dataset, "", checkpoint);
  expect_same_run(train(config, dataset, checkpoint), whole);
}

}  // namespace
}  // namespace vitsweep::engine
