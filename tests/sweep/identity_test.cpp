#include "sweep/identity.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/sha256.hpp"
#include "sweep_test_support.hpp"

namespace vitsweep::sweep {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::sweep_from;

TrialConfig config_from(std::string_view json) {
  return parse_trial_config(parse_json_strict(json, "test"), "test");
}

std::string hash_of(std::string_view json) { return trial_hash(config_from(json)); }

TEST(CanonicalJson, SortedCompactShortestNumbers) {
  EXPECT_EQ(canonical_json(OrderedJson::parse(R"({"b": 0.5, "a": [1.0, true]})")),
            R"({"a":[1,true],"b":0.5})");
  EXPECT_EQ(canonical_json(OrderedJson::parse(R"({"z": {"y": 1, "x": null}, "eps": 1e-08,
                                                  "lr": 0.1, "n": -3, "big": 1e21})")),
            R"({"big":1e+21,"eps":1e-08,"lr":0.1,"n":-3,"z":{"x":null,"y":1}})");
  EXPECT_EQ(canonical_json(OrderedJson("a\"b\\c\n\u00e9")), "\"a\\\"b\\\\c\\n\u00e9\"");
  EXPECT_EQ(canonical_json(OrderedJson(-0.0)), "0");
  // Sorted by bytes: upper case before lower case, "a" before "a_b".
  EXPECT_EQ(canonical_json(OrderedJson::parse(R"({"a_b": 1, "a": 2, "B": 3})")),
            R"({"B":3,"a":2,"a_b":1})");
}

TEST(Normalize, DropsKeysThatCannotMatter) {
  EXPECT_THAT(
      irrelevant_keys(TrialConfig{}),
      ElementsAre("data_dir", "crop_padding", "synthetic_size", "synthetic_channels",
                  "synthetic_classes", "synthetic_train", "synthetic_test", "model", "alpha",
                  "scale_length", "attn_kernel", "momentum", "threads", "ranks", "simulate_s"));
  const TrialConfig point_wise = config_from(R"({"attn": "relu", "optimizer": "sgd",
    "dataset": "synthetic", "augment": "crop+flip"})");
  EXPECT_THAT(irrelevant_keys(point_wise),
              ElementsAre("data_dir", "model", "scale_length", "attn_kernel", "beta1", "beta2",
                          "eps", "threads", "ranks", "simulate_s"));
  const OrderedJson identity = normalize_config(point_wise);
  EXPECT_TRUE(identity.contains("alpha"));
  EXPECT_TRUE(identity.contains("momentum"));
  EXPECT_TRUE(identity.contains("synthetic_size"));
  EXPECT_TRUE(identity.contains("crop_padding"));
  EXPECT_FALSE(identity.contains("beta1"));
  EXPECT_EQ(identity.size(), config_key_names().size() - irrelevant_keys(point_wise).size());
}

TEST(Normalize, ScaleLengthMattersOnlyWhenItChangesTheConstant) {
  // micro/4 has 49 keys: scale_length 49 is the default's constant, 16 is not.
  const std::string relu = R"("model": "micro/4", "attn": "relu", "alpha": 1)";
  EXPECT_EQ(hash_of("{" + relu + "}"), hash_of("{" + relu + R"(, "scale_length": 49})"));
  EXPECT_NE(hash_of("{" + relu + "}"), hash_of("{" + relu + R"(, "scale_length": 16})"));
  EXPECT_EQ(hash_of(R"({"attn": "relu", "alpha": 0})"),
            hash_of(R"({"attn": "relu", "alpha": 0, "scale_length": 16})"));
  EXPECT_EQ(hash_of(R"({"attn": "softmax"})"),
            hash_of(R"({"attn": "softmax", "scale_length": 16})"));
}

TEST(Normalize, AttentionKernelMattersOnlyUnderBf16) {
  EXPECT_EQ(hash_of(R"({"attn_kernel": "fused"})"), hash_of(R"({"attn_kernel": "matmul"})"));
  EXPECT_NE(hash_of(R"({"attn_kernel": "fused", "precision": "bf16"})"),
            hash_of(R"({"attn_kernel": "matmul", "precision": "bf16"})"));
}

TEST(Normalize, SoftmaxIgnoresAlphaPointWiseDoesNot) {
  EXPECT_EQ(hash_of(R"({"alpha": 0})"), hash_of(R"({"alpha": 0.5})"));
  EXPECT_NE(hash_of(R"({"attn": "relu", "alpha": 0})"),
            hash_of(R"({"attn": "relu", "alpha": 0.5})"));
  EXPECT_EQ(expand(sweep_from(R"({"name": "x", "grid": {"alpha": [0, 0.5, 1]}})")).size(), 1u);
  EXPECT_EQ(expand(sweep_from(R"({"name": "x", "base": {"attn": "relu"},
                                  "grid": {"alpha": [0, 0.5, 1]}})"))
                .size(),
            3u);
}

TEST(Normalize, NoAttentionIgnoresEveryAttentionSetting) {
  const std::string none = R"("attn": "none", "precision": "bf16")";
  EXPECT_EQ(hash_of("{" + none + "}"),
            hash_of("{" + none + R"(, "heads": 4, "qk_norm": true, "gate": "silu", "alpha": 0.5,
                                    "scale_length": 16, "attn_kernel": "matmul"})"));
  EXPECT_NE(hash_of(R"({"attn": "none"})"), hash_of(R"({"attn": "softmax"})"));
  EXPECT_NE(hash_of(R"({"attn": "none"})"), hash_of(R"({"attn": "none", "mlp_dim": 64})"));
  EXPECT_THAT(irrelevant_keys(config_from(R"({"attn": "none"})")),
              ::testing::IsSupersetOf(
                  {"heads", "qk_norm", "gate", "alpha", "scale_length", "attn_kernel"}));
  // With attention they all count (attn_kernel under bf16).
  for (const char* key : {"heads", "qk_norm", "gate", "alpha", "scale_length", "attn_kernel"}) {
    EXPECT_THAT(irrelevant_keys(config_from(R"({"attn": "relu", "alpha": 1, "scale_length": 16,
                                                 "precision": "bf16"})")),
                ::testing::Not(::testing::Contains(key)));
  }
}

TEST(Normalize, OptimizerKeysCountOnlyForTheirOptimizer) {
  EXPECT_EQ(hash_of(R"({"optimizer": "sgd", "beta1": 0.5, "beta2": 0.9, "eps": 1e-6})"),
            hash_of(R"({"optimizer": "sgd"})"));
  EXPECT_NE(hash_of(R"({"optimizer": "sgd", "momentum": 0.5})"),
            hash_of(R"({"optimizer": "sgd"})"));
  EXPECT_EQ(hash_of(R"({"momentum": 0.5})"), hash_of("{}"));
  EXPECT_NE(hash_of(R"({"beta1": 0.5})"), hash_of("{}"));
}

TEST(Normalize, DataKeysCountOnlyWhenUsed) {
  EXPECT_EQ(hash_of(R"({"synthetic_size": 32, "crop_padding": 4})"), hash_of("{}"));
  EXPECT_NE(hash_of(R"({"dataset": "synthetic", "synthetic_size": 32})"),
            hash_of(R"({"dataset": "synthetic"})"));
  EXPECT_NE(hash_of(R"({"augment": "crop", "crop_padding": 4})"),
            hash_of(R"({"augment": "crop"})"));
}

TEST(Normalize, LocationThreadsAndModelLabelDoNotChangeTheHash) {
  const std::string plain = hash_of("{}");
  EXPECT_EQ(hash_of(R"({"threads": 7})"), plain);
  EXPECT_EQ(hash_of(R"({"ranks": 4})"), plain);
  EXPECT_EQ(hash_of(R"({"data_dir": "/tmp/elsewhere"})"), plain);
  EXPECT_EQ(hash_of(R"({"model": "mini/4"})"), plain);
  EXPECT_EQ(hash_of(R"({"model": "mini/4"})"),
            hash_of(R"({"width": 128, "depth": 6, "heads": 4, "mlp_dim": 512, "patch": 4})"));
  // Not the defaults: a preset and the sizes it stands for are one trial.
  EXPECT_EQ(hash_of(R"({"model": "micro/7"})"),
            hash_of(R"({"width": 64, "depth": 4, "heads": 4, "mlp_dim": 256, "patch": 7})"));
  EXPECT_NE(hash_of(R"({"model": "micro/7"})"), hash_of(R"({"model": "micro/4"})"));
}

TEST(Normalize, IntegerAndRealSpellingsAgree) {
  EXPECT_EQ(hash_of(R"({"attn": "relu", "alpha": 2})"),
            hash_of(R"({"attn": "relu", "alpha": 2.0})"));
  EXPECT_EQ(hash_of(R"({"depth": 3.0})"), hash_of(R"({"depth": 3})"));
}

// Golden identities. A trial's hash names its folder and its row in every results database:
// changing any of these strings changes the identity of every stored trial, so existing sweeps
// would re-run everything. Change them only on purpose, with a migration.
TEST(Golden, DefaultConfig) {
  const TrialConfig config;
  EXPECT_EQ(canonical_json(normalize_config(config)),
            R"({"attn":"softmax","augment":"none","batch_size":128,"beta1":0.9,"beta2":0.999,)"
            R"("clip_norm":1,"dataset":"fashion-mnist","depth":6,"epochs":10,"eps":1e-08,)"
            R"("gate":"none","heads":4,"label_smoothing":0,"loss":"softmax_xent","lr":0.001,)"
            R"("max_steps":-1,"mlp_dim":512,"optimizer":"adamw","patch":4,"pool":"gap",)"
            R"("posemb":"learned","precision":"f32","qk_norm":false,"schedule":"cosine","seed":0,)"
            R"("shuffle":true,"train_subset":0,"val_fraction":0,"warmup_steps":200,)"
            R"("weight_decay":0.05,"width":128})");
  EXPECT_EQ(trial_hash(config), "022de06282dc51ff");
}

TEST(Golden, ReluAlphaHalfSeed3) {
  const TrialConfig config = config_from(R"({"attn": "relu", "alpha": 0.5, "seed": 3})");
  EXPECT_EQ(canonical_json(normalize_config(config)),
            R"({"alpha":0.5,"attn":"relu","augment":"none","batch_size":128,"beta1":0.9,)"
            R"("beta2":0.999,"clip_norm":1,"dataset":"fashion-mnist","depth":6,"epochs":10,)"
            R"("eps":1e-08,"gate":"none","heads":4,"label_smoothing":0,"loss":"softmax_xent",)"
            R"("lr":0.001,"max_steps":-1,"mlp_dim":512,"optimizer":"adamw","patch":4,"pool":"gap",)"
            R"("posemb":"learned","precision":"f32","qk_norm":false,"schedule":"cosine","seed":3,)"
            R"("shuffle":true,"train_subset":0,"val_fraction":0,"warmup_steps":200,)"
            R"("weight_decay":0.05,"width":128})");
  EXPECT_EQ(trial_hash(config), "90528ea158f79cc6");
}

TEST(Golden, SoftmaxQkNormSiluGate) {
  const TrialConfig config = config_from(R"({"qk_norm": true, "gate": "silu"})");
  EXPECT_EQ(canonical_json(normalize_config(config)),
            R"({"attn":"softmax","augment":"none","batch_size":128,"beta1":0.9,"beta2":0.999,)"
            R"("clip_norm":1,"dataset":"fashion-mnist","depth":6,"epochs":10,"eps":1e-08,)"
            R"("gate":"silu","heads":4,"label_smoothing":0,"loss":"softmax_xent","lr":0.001,)"
            R"("max_steps":-1,"mlp_dim":512,"optimizer":"adamw","patch":4,"pool":"gap",)"
            R"("posemb":"learned","precision":"f32","qk_norm":true,"schedule":"cosine","seed":0,)"
            R"("shuffle":true,"train_subset":0,"val_fraction":0,"warmup_steps":200,)"
            R"("weight_decay":0.05,"width":128})");
  EXPECT_EQ(trial_hash(config), "11e6029fbf17022c");
}

TEST(Golden, SyntheticSgdWithCrop) {
  const TrialConfig config = config_from(R"({"dataset": "synthetic", "optimizer": "sgd",
    "augment": "crop", "lr": 0.1, "model": "nano/4"})");
  EXPECT_EQ(canonical_json(normalize_config(config)),
            R"({"attn":"softmax","augment":"crop","batch_size":128,"clip_norm":1,"crop_padding":2,)"
            R"("dataset":"synthetic","depth":2,"epochs":10,"gate":"none","heads":2,)"
            R"("label_smoothing":0,"loss":"softmax_xent","lr":0.1,"max_steps":-1,"mlp_dim":128,)"
            R"("momentum":0.9,"optimizer":"sgd","patch":4,"pool":"gap","posemb":"learned",)"
            R"("precision":"f32","qk_norm":false,"schedule":"cosine","seed":0,"shuffle":true,)"
            R"("synthetic_channels":1,"synthetic_classes":10,"synthetic_size":16,)"
            R"("synthetic_test":512,"synthetic_train":2048,"train_subset":0,"val_fraction":0,)"
            R"("warmup_steps":200,"weight_decay":0.05,"width":32})");
  EXPECT_EQ(trial_hash(config), "409f86895725a496");
}

TEST(Golden, HashIsThePrefixOfTheCanonicalTextsSha256) {
  const TrialConfig config;
  EXPECT_EQ(trial_hash(config), sha256_hex(canonical_json(normalize_config(config))).substr(0, 16));
  EXPECT_EQ(trial_hash(config).size(), 16u);
}

}  // namespace
}  // namespace vitsweep::sweep
