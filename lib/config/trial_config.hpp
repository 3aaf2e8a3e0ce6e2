// The configuration of one trial: one flat namespace of keys shared by `sweep train --set`,
// config files, sweep files and checkpoints. Every key is declared once, in visit_keys(), with its
// group, help text and allowed values; parsing, validation, --help and JSON all walk that list.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.hpp"

namespace vitsweep {

struct TrialConfig {
  // data
  std::string dataset = "fashion-mnist";
  std::string data_dir;  // empty: the dataset's standard directory
  int64_t train_subset = 0;
  double val_fraction = 0.0;
  std::string augment = "none";
  int64_t crop_padding = 2;
  bool shuffle = true;
  int64_t synthetic_size = 16;
  int64_t synthetic_channels = 1;
  int64_t synthetic_classes = 10;
  int64_t synthetic_train = 2048;
  int64_t synthetic_test = 512;
  // model
  std::string model = "mini";
  int64_t width = 128;
  int64_t depth = 6;
  int64_t heads = 4;
  int64_t mlp_dim = 512;
  int64_t patch = 4;
  std::string pool = "gap";
  std::string posemb = "learned";
  // attention
  std::string attn = "softmax";
  double alpha = 1.0;
  int64_t scale_length = 0;
  bool qk_norm = false;
  std::string gate = "none";
  std::string attn_kernel = "auto";
  // training
  std::string loss = "softmax_xent";
  double label_smoothing = 0.0;
  std::string optimizer = "adamw";
  double lr = 1e-3;
  double weight_decay = 0.05;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double momentum = 0.9;
  double clip_norm = 1.0;
  std::string schedule = "cosine";
  int64_t warmup_steps = 200;
  int64_t epochs = 10;
  int64_t max_steps = -1;
  int64_t batch_size = 128;
  // run
  int64_t seed = 0;
  int64_t threads = 0;
  int64_t ranks = 1;
  std::string precision = "f32";
  double simulate_s = 0;
};

constexpr double kNoLimit = std::numeric_limits<double>::infinity();

// What a key accepts. Numbers must lie in [min, max] (min excluded when min_exclusive);
// strings with choices must be one of them.
struct KeyInfo {
  std::string_view name;
  std::string_view group;  // data, model, attention, training, run
  std::string_view help;
  std::vector<std::string> choices = {};
  double min = -kNoLimit;
  double max = kNoLimit;
  bool min_exclusive = false;
};

// Calls visit(KeyInfo, field&) for every key, in the documented order. Config may be const.
template <typename Config, typename Visit>
void visit_keys(Config& c, Visit&& visit) {
  // A table, one key per entry:
  // clang-format off
  // data
  visit(KeyInfo{"dataset", "data", "data set to train on",
                {"fashion-mnist", "mnist", "cifar10", "cifar100", "synthetic"}},
        c.dataset);
  visit(KeyInfo{"data_dir", "data",
                "directory holding the data set's files (default: its standard place, e.g. "
                "/usr/share/datasets/fashion-mnist)"},
        c.data_dir);
  visit(KeyInfo{"train_subset", "data", "train on the first N images of a seeded shuffle (0: all)",
                {}, 0},
        c.train_subset);
  visit(KeyInfo{"val_fraction", "data", "fraction of the training set held out for validation",
                {}, 0, 0.5},
        c.val_fraction);
  visit(KeyInfo{"augment", "data", "training augmentation: random crop with padding, horizontal flip",
                {"none", "crop", "flip", "crop+flip"}},
        c.augment);
  visit(KeyInfo{"crop_padding", "data", "pixels of padding for the random crop", {}, 0, 64},
        c.crop_padding);
  visit(KeyInfo{"shuffle", "data", "reshuffle the training set every epoch (from the seed)"},
        c.shuffle);
  visit(KeyInfo{"synthetic_size", "data", "synthetic data set: image side in pixels", {}, 1, 1024},
        c.synthetic_size);
  visit(KeyInfo{"synthetic_channels", "data", "synthetic data set: channels", {}, 1, 64},
        c.synthetic_channels);
  visit(KeyInfo{"synthetic_classes", "data", "synthetic data set: classes", {}, 2, 1000},
        c.synthetic_classes);
  visit(KeyInfo{"synthetic_train", "data", "synthetic data set: training images", {}, 1, 1e7},
        c.synthetic_train);
  visit(KeyInfo{"synthetic_test", "data", "synthetic data set: test images", {}, 1, 1e7},
        c.synthetic_test);
  // model
  visit(KeyInfo{"model", "model",
                "size preset, optionally with a patch size: nano, micro, mini, Ti, S, B, L, e.g. "
                "\"S/16\"; sets width, depth, heads, mlp_dim (and patch) unless those are given"},
        c.model);
  visit(KeyInfo{"width", "model", "token dimension D", {}, 1, 65536}, c.width);
  visit(KeyInfo{"depth", "model", "number of transformer blocks", {}, 1, 1024}, c.depth);
  visit(KeyInfo{"heads", "model", "attention heads (width must be divisible by heads)", {}, 1, 4096},
        c.heads);
  visit(KeyInfo{"mlp_dim", "model",
                "hidden size of the MLP (default: the preset's; 4 x width when width is given, "
                "as timm's mlp_ratio)",
                {}, 1, 1 << 20},
        c.mlp_dim);
  visit(KeyInfo{"patch", "model", "patch side in pixels (must divide the image side)", {}, 1, 1024},
        c.patch);
  visit(KeyInfo{"pool", "model", "global average pooling over tokens, or a class token",
                {"gap", "cls"}},
        c.pool);
  visit(KeyInfo{"posemb", "model", "position embedding: learned or fixed 2-D sin-cos",
                {"learned", "sincos2d"}},
        c.posemb);
  // attention
  visit(KeyInfo{"attn", "attention",
                "attention weights: softmax, or point-wise L^-alpha * h(q.k/sqrt(d)) with h one of "
                "relu ... sigmoid; none: no attention branch at all (every block is LayerNorm + "
                "MLP, tokens never mix: the baseline for how much a task needs attention)",
                {"softmax", "relu", "relu2", "gelu", "softplus", "identity", "relu6", "sigmoid",
                 "none"}},
        c.attn);
  visit(KeyInfo{"alpha", "attention", "point-wise attention scales by L^-alpha (L = keys)", {},
                -16, 16},
        c.alpha);
  visit(KeyInfo{"scale_length", "attention",
                "the L of L^-alpha: 0 uses the number of keys; a fixed number makes L^-alpha a "
                "constant that does not follow the sequence length (e.g. 16 with alpha 1 is 1/16 at "
                "every patch size: the control for length scaling)",
                {}, 0, 1 << 30},
        c.scale_length);
  visit(KeyInfo{"qk_norm", "attention", "LayerNorm on queries and keys (per head, shared scale)"},
        c.qk_norm);
  visit(KeyInfo{"gate", "attention", "gate multiplied into the heads' output: act(x W_g + b_g)",
                {"none", "silu", "sigmoid", "gelu", "identity"}},
        c.gate);
  visit(KeyInfo{"attn_kernel", "attention",
                "how the attention core runs: matmul (oneDNN matmuls over stored [B, H, L, L] "
                "scores and weights), fused (tiles over queries and keys, never stores the L x L "
                "scores: less memory, and faster at small head sizes), or auto: fused in f32 when "
                "the head dimension is at most 16 (nano, micro), else matmul, resolved when the "
                "config is read; the same maths, rounded differently, so not part of an f32 "
                "trial's identity (with precision=bf16 the fused kernel computes the attention "
                "core in f32)",
                {"auto", "matmul", "fused"}},
        c.attn_kernel);
  // training
  visit(KeyInfo{"loss", "training", "softmax or sigmoid cross-entropy",
                {"softmax_xent", "sigmoid_xent"}},
        c.loss);
  visit(KeyInfo{"label_smoothing", "training", "label smoothing epsilon", {}, 0, 1},
        c.label_smoothing);
  visit(KeyInfo{"optimizer", "training", "AdamW (PyTorch semantics) or SGD with momentum",
                {"adamw", "sgd"}},
        c.optimizer);
  visit(KeyInfo{"lr", "training", "peak learning rate", {}, 0, kNoLimit, true}, c.lr);
  visit(KeyInfo{"weight_decay", "training",
                "decoupled weight decay on weight matrices (AdamW: p -= lr*wd*p)", {}, 0},
        c.weight_decay);
  visit(KeyInfo{"beta1", "training", "AdamW first-moment decay", {}, 0, 1}, c.beta1);
  visit(KeyInfo{"beta2", "training", "AdamW second-moment decay", {}, 0, 1}, c.beta2);
  visit(KeyInfo{"eps", "training", "AdamW epsilon", {}, 0, 1, true}, c.eps);
  visit(KeyInfo{"momentum", "training", "SGD momentum", {}, 0, 1}, c.momentum);
  visit(KeyInfo{"clip_norm", "training", "clip gradients to this global norm (0: off)", {}, 0},
        c.clip_norm);
  visit(KeyInfo{"schedule", "training", "learning rate after warm-up",
                {"cosine", "linear", "constant"}},
        c.schedule);
  visit(KeyInfo{"warmup_steps", "training", "linear warm-up steps", {}, 0}, c.warmup_steps);
  visit(KeyInfo{"epochs", "training", "passes over the training set", {}, 1, 1e6}, c.epochs);
  visit(KeyInfo{"max_steps", "training",
                "stop after this many optimizer steps (-1: no limit, 0: initialise only)", {}, -1},
        c.max_steps);
  visit(KeyInfo{"batch_size", "training", "images per optimizer step", {}, 1, 1 << 20},
        c.batch_size);
  // run
  visit(KeyInfo{"seed", "run", "seed for initialisation, data order and augmentation", {}, 0,
                9007199254740991.0},
        c.seed);
  visit(KeyInfo{"threads", "run", "threads for this trial (0: all cores)", {}, 0, 4096}, c.threads);
  visit(KeyInfo{"ranks", "run",
                "MPI ranks that train this trial together, data parallel: each takes batch_size / "
                "ranks images of every step (`mpirun -np N sweep train`; `sweep run` starts it "
                "under mpirun on N slots of one machine); the same result as one process, rounded "
                "differently, so not part of a trial's identity",
                {}, 1, 65536},
        c.ranks);
  visit(KeyInfo{"precision", "run",
                "matmul precision: f32, or bf16 (operands rounded to bf16, f32 accumulation, "
                "f32 weights, activations and optimizer state; attn_kernel=fused keeps the "
                "attention core in f32)",
                {"f32", "bf16"}},
        c.precision);
  visit(KeyInfo{"simulate_s", "run",
                "> 0: train nothing: the trial waits this many seconds, spread over its epochs, and "
                "reports made-up metrics (for measuring the sweep runner itself, e.g. a "
                "coordinator's throughput across many MPI ranks)",
                {}, 0, 1e6},
        c.simulate_s);
  // clang-format on
}

// One row of the key table, for `sweep config keys` and the README.
struct KeyDescription {
  std::string name;
  std::string group;
  std::string type;  // "integer", "number", "boolean", "text", "choice"
  std::string help;
  std::vector<std::string> choices;
  double min = -kNoLimit;
  double max = kNoLimit;
  bool min_exclusive = false;
  Json default_value;
};
const std::vector<KeyDescription>& config_keys();
std::vector<std::string> config_key_names();

// MLP hidden size over width when width is given without mlp_dim (timm's mlp_ratio).
constexpr int64_t kMlpRatio = 4;

// attn_kernel=auto picks the fused kernel in f32 up to this head dimension.
constexpr int64_t kFusedAttentionMaxHeadDim = 16;

// A model size. patch 0: the preset does not fix the patch size.
struct ModelPreset {
  std::string name;
  int64_t width, depth, heads, mlp_dim;
};
const std::vector<ModelPreset>& model_presets();

// Builds a config from a JSON object of key -> value, on top of the defaults: the `model` preset
// first, then every other key. Unknown keys, wrong types and out-of-range values throw
// UsageError naming `source` and the key, with a did-you-mean. Checks cross-key rules too.
TrialConfig parse_trial_config(const OrderedJson& settings, std::string_view source);

// Checks one key and value on its own (known key, type, range, choices); throws UsageError naming
// `source`. parse_trial_config does this for every key.
void check_setting(const std::string& key, const OrderedJson& value, std::string_view source);

// "alpha=0.5" -> ("alpha", 0.5); values that are not JSON are taken as text ("attn=relu").
std::pair<std::string, OrderedJson> parse_setting(std::string_view assignment);

// Where a trial's settings come from: a JSON file of key: value, then --set KEY=VALUE overrides
// (later wins). Each setting is checked against its own source, then the merge as a whole.
struct ConfigSources {
  std::string file;                   // empty: none
  std::vector<std::string> settings;  // "alpha=0.5"
};
OrderedJson merge_settings(const ConfigSources& sources);
TrialConfig load_trial_config(const ConfigSources& sources);

// Every key with its value, in visit_keys order.
OrderedJson to_json(const TrialConfig& config);

// Rules that involve more than one key (width divisible by heads, patch divides the image, ...).
void validate(const TrialConfig& config, std::string_view source);

// Image geometry and class count of the configured data set.
struct ImageSpec {
  int64_t channels, height, width, classes;
};
ImageSpec image_spec(const TrialConfig& config);

// Tokens the encoder sees: patches, plus one for the class token.
int64_t sequence_length(const TrialConfig& config);

}  // namespace vitsweep
