#include "config/trial_config.hpp"

#include <cmath>
#include <type_traits>

#include "common/error.hpp"
#include "common/text.hpp"

namespace vitsweep {
namespace {

template <typename T>
std::string type_name(const KeyInfo& info) {
  if constexpr (std::is_same_v<T, bool>)
    return "boolean";
  else if constexpr (std::is_same_v<T, int64_t>)
    return "integer";
  else if constexpr (std::is_same_v<T, double>)
    return "number";
  else
    return info.choices.empty() ? "text" : "choice";
}

std::string describe_range(const KeyInfo& info, bool integer) {
  auto bound = [](double v) { return format_number(v); };
  const bool has_min = std::isfinite(info.min), has_max = std::isfinite(info.max);
  const char* kind = integer ? "an integer" : "a number";
  if (has_min && has_max)
    return fmt::format("{} in [{}, {}]", kind, bound(info.min), bound(info.max));
  if (has_min)
    return fmt::format("{} {} {}", kind, info.min_exclusive ? ">" : ">=", bound(info.min));
  if (has_max) return fmt::format("{} <= {}", kind, bound(info.max));
  return kind;
}

void check_range(const KeyInfo& info, double value, bool integer, std::string_view source) {
  const bool below = info.min_exclusive ? value <= info.min : value < info.min;
  if (below || value > info.max) {
    fail_usage("{}: key '{}': expected {}, got {}", source, info.name,
               describe_range(info, integer), format_number(value));
  }
}

// Assigns a JSON value to a typed field, checking type, choices and range.
template <typename T>
void assign(const KeyInfo& info, T& field, const OrderedJson& value, std::string_view source) {
  auto wrong_type = [&](std::string_view expected) {
    fail_usage("{}: key '{}': expected {}, got {}", source, info.name, expected,
               describe_json(value));
  };
  if constexpr (std::is_same_v<T, bool>) {
    if (!value.is_boolean()) wrong_type("true or false");
    field = value.get<bool>();
  } else if constexpr (std::is_same_v<T, int64_t>) {
    // 3.0 is accepted as 3; 3.5 is not.
    if (!value.is_number()) wrong_type(describe_range(info, true));
    const double d = value.get<double>();
    if (value.is_number_float() &&
        (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9.007e15)) {
      wrong_type(describe_range(info, true));
    }
    check_range(info, d, true, source);
    field = value.is_number_float() ? static_cast<int64_t>(d) : value.get<int64_t>();
  } else if constexpr (std::is_same_v<T, double>) {
    if (!value.is_number()) wrong_type(describe_range(info, false));
    const double d = value.get<double>();
    if (!std::isfinite(d)) wrong_type("a finite number");
    check_range(info, d, false, source);
    field = d;
  } else {
    if (!value.is_string()) {
      if (info.choices.empty()) wrong_type("text");
      wrong_type(fmt::format("one of {}", join(info.choices, ", ")));
    }
    const std::string text = value.get<std::string>();
    if (!info.choices.empty()) {
      bool found = false;
      for (const auto& c : info.choices) found = found || c == text;
      if (!found) {
        fail_usage("{}: key '{}': expected one of {}, got \"{}\"{}", source, info.name,
                   join(info.choices, ", "), text, did_you_mean(text, info.choices));
      }
    }
    field = text;
  }
}

// "S/16" -> preset S, patch 16. Throws for an unknown name or a bad patch suffix.
const ModelPreset& find_preset(const std::string& model, int64_t& patch_out, bool& has_patch,
                               std::string_view source) {
  const auto slash = model.find('/');
  const std::string name = model.substr(0, slash);
  has_patch = slash != std::string::npos;
  if (has_patch) {
    const std::string suffix = model.substr(slash + 1);
    char* end = nullptr;
    const long p = std::strtol(suffix.c_str(), &end, 10);
    if (suffix.empty() || *end != '\0' || p < 1 || p > 1024) {
      fail_usage(
          "{}: key 'model': expected a preset optionally followed by /PATCH (e.g. \"S/16\"), "
          "got \"{}\"",
          source, model);
    }
    patch_out = p;
  }
  std::vector<std::string> names;
  for (const auto& preset : model_presets()) {
    if (preset.name == name) return preset;
    names.push_back(preset.name);
  }
  fail_usage("{}: key 'model': expected one of {} (optionally /PATCH), got \"{}\"{}", source,
             join(names, ", "), model, did_you_mean(name, names));
}

constexpr std::string_view kPresetKeys[] = {"width", "depth", "heads", "mlp_dim", "patch"};

}  // namespace

const std::vector<ModelPreset>& model_presets() {
  // nano/micro/mini are CPU sizes for 28x28 images (mini is the default Fashion-MNIST model);
  // Ti/S/B/L are the standard ViT sizes (S, B, L as in the paper, head dim 64).
  static const std::vector<ModelPreset> presets = {
      {"nano", 32, 2, 2, 128},   {"micro", 64, 4, 4, 256}, {"mini", 128, 6, 4, 512},
      {"Ti", 192, 12, 3, 768},   {"S", 384, 12, 6, 1536},  {"B", 768, 12, 12, 3072},
      {"L", 1024, 24, 16, 4096},
  };
  return presets;
}

const std::vector<KeyDescription>& config_keys() {
  static const std::vector<KeyDescription> keys = [] {
    std::vector<KeyDescription> out;
    const TrialConfig defaults;
    visit_keys(defaults, [&](const KeyInfo& info, const auto& field) {
      using T = std::decay_t<decltype(field)>;
      KeyDescription d;
      d.name = info.name;
      d.group = info.group;
      d.type = type_name<T>(info);
      d.help = info.help;
      d.choices = info.choices;
      d.min = info.min;
      d.max = info.max;
      d.min_exclusive = info.min_exclusive;
      d.default_value = field;
      out.push_back(std::move(d));
    });
    return out;
  }();
  return keys;
}

std::vector<std::string> config_key_names() {
  std::vector<std::string> names;
  for (const auto& key : config_keys()) names.push_back(key.name);
  return names;
}

void check_setting(const std::string& key, const OrderedJson& value, std::string_view source) {
  bool known = false;
  TrialConfig scratch;
  visit_keys(scratch, [&](const KeyInfo& info, auto& field) {
    if (info.name != key) return;
    known = true;
    assign(info, field, value, source);
  });
  if (!known) {
    fail_usage("{}: unknown key '{}'{}", source, key, did_you_mean(key, config_key_names()));
  }
  if (key == "model") {
    int64_t patch = 0;
    bool has_patch = false;
    find_preset(value.get<std::string>(), patch, has_patch, source);
  }
}

TrialConfig parse_trial_config(const OrderedJson& settings, std::string_view source) {
  if (!settings.is_object()) {
    fail_usage("{}: expected an object of key: value settings, got {}", source,
               describe_json(settings));
  }
  for (const auto& [key, value] : settings.items()) check_setting(key, value, source);

  TrialConfig config;
  // The preset first, so that explicitly given sizes override it.
  if (settings.contains("model")) {
    visit_keys(config, [&](const KeyInfo& info, auto& field) {
      if (info.name == "model") assign(info, field, settings["model"], source);
    });
    int64_t patch = 0;
    bool has_patch = false;
    const ModelPreset& preset = find_preset(config.model, patch, has_patch, source);
    config.width = preset.width;
    config.depth = preset.depth;
    config.heads = preset.heads;
    config.mlp_dim = preset.mlp_dim;
    if (has_patch) config.patch = patch;
  }
  visit_keys(config, [&](const KeyInfo& info, auto& field) {
    const std::string name(info.name);
    if (name != "model" && settings.contains(name)) assign(info, field, settings[name], source);
  });
  // The MLP follows a given width, as timm's mlp_ratio (every preset has ratio 4 too). A stored
  // config has every key, so a stored trial keeps its resolved sizes.
  if (settings.contains("width") && !settings.contains("mlp_dim")) {
    config.mlp_dim = kMlpRatio * config.width;
  }
  validate(config, source);
  // Whole training steps at head dimension 16 take 0.90-0.94x the time with the fused kernel at
  // 49 tokens and 0.66-0.68x at 196 (README, Performance); at 32 the two kernels are even. bf16
  // keeps matmul, the kernel that rounds the core to bf16.
  if (config.attn_kernel == "auto") {
    const bool small_heads = config.width / config.heads <= kFusedAttentionMaxHeadDim;
    config.attn_kernel = config.precision == "f32" && small_heads ? "fused" : "matmul";
  }
  return config;
}

namespace {

// How a --set argument is named in errors; a long one is cut, so the error stays readable.
std::string setting_source(std::string_view assignment) {
  constexpr size_t kShownChars = 60;
  if (assignment.size() <= kShownChars) return fmt::format("--set {}", assignment);
  return fmt::format("--set {}...", assignment.substr(0, kShownChars - 3));
}

}  // namespace

std::pair<std::string, OrderedJson> parse_setting(std::string_view assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    fail_usage("--set '{}': expected KEY=VALUE (e.g. alpha=0.5)", assignment);
  }
  const std::string key(assignment.substr(0, eq));
  const std::string text(assignment.substr(eq + 1));
  // Anything that is not a JSON number, boolean or string literal is taken as plain text, and so
  // is text nested too deep to parse safely (common/json.hpp), which is no literal either.
  OrderedJson value;
  if (!find_excess_nesting(text)) value = OrderedJson::parse(text, nullptr, false);
  if (value.is_discarded() || value.is_null() || value.is_object() || value.is_array()) {
    value = text;
  }
  return {key, value};
}

OrderedJson merge_settings(const ConfigSources& sources) {
  OrderedJson merged = OrderedJson::object();
  if (!sources.file.empty()) {
    merged = read_json_file(sources.file);
    if (!merged.is_object()) {
      fail_usage("{}: expected an object of key: value settings, got {}", sources.file,
                 describe_json(merged));
    }
    for (const auto& [key, value] : merged.items()) check_setting(key, value, sources.file);
  }
  for (const auto& assignment : sources.settings) {
    auto [key, value] = parse_setting(assignment);
    check_setting(key, value, setting_source(assignment));
    merged[key] = value;
  }
  return merged;
}

TrialConfig load_trial_config(const ConfigSources& sources) {
  const std::string source = sources.file.empty() ? "config" : sources.file;
  return parse_trial_config(merge_settings(sources), source);
}

OrderedJson to_json(const TrialConfig& config) {
  OrderedJson out = OrderedJson::object();
  visit_keys(config,
             [&](const KeyInfo& info, const auto& field) { out[std::string(info.name)] = field; });
  return out;
}

ImageSpec image_spec(const TrialConfig& c) {
  if (c.dataset == "fashion-mnist" || c.dataset == "mnist") return {1, 28, 28, 10};
  if (c.dataset == "cifar10") return {3, 32, 32, 10};
  if (c.dataset == "cifar100") return {3, 32, 32, 100};
  return {c.synthetic_channels, c.synthetic_size, c.synthetic_size, c.synthetic_classes};
}

int64_t sequence_length(const TrialConfig& c) {
  const ImageSpec image = image_spec(c);
  return (image.height / c.patch) * (image.width / c.patch) + (c.pool == "cls" ? 1 : 0);
}

void validate(const TrialConfig& c, std::string_view source) {
  if (c.width % c.heads != 0) {
    fail_usage("{}: width {} is not divisible by heads {} (head dimension must be whole)", source,
               c.width, c.heads);
  }
  if (c.attn == "none" && c.pool == "cls") {
    fail_usage(
        "{}: attn none with pool cls: without attention the class token never meets the patches, "
        "so the model would not see the image (use pool gap)",
        source);
  }
  if (c.posemb == "sincos2d" && c.width % 4 != 0) {
    fail_usage("{}: posemb sincos2d needs width divisible by 4, got width {}", source, c.width);
  }
  const ImageSpec image = image_spec(c);
  if (image.height % c.patch != 0 || image.width % c.patch != 0) {
    fail_usage("{}: patch {} does not divide the {}x{} images of {}", source, c.patch, image.height,
               image.width, c.dataset);
  }
  if (c.batch_size % c.ranks != 0) {
    fail_usage(
        "{}: batch_size {} does not split evenly over ranks {} (each rank takes "
        "batch_size / ranks images of every step)",
        source, c.batch_size, c.ranks);
  }
  if (c.augment.find("crop") != std::string::npos && c.crop_padding == 0) {
    fail_usage("{}: augment '{}' needs crop_padding >= 1", source, c.augment);
  }
}

}  // namespace vitsweep
