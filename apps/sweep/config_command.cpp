// `sweep config keys` and `sweep config show`.
#include <fmt/format.h>

#include <cmath>

#include "commands.hpp"
#include "common/text.hpp"
#include "config/trial_config.hpp"

namespace vitsweep::cli {

namespace {

std::string allowed_values(const KeyDescription& key) {
  if (!key.choices.empty()) return join(key.choices, " | ");
  if (key.type == "boolean") return "true | false";
  if (key.type == "text") return "text";
  const bool has_min = std::isfinite(key.min), has_max = std::isfinite(key.max);
  if (has_min && has_max)
    return fmt::format("[{}, {}]", format_number(key.min), format_number(key.max));
  if (has_min) return fmt::format("{} {}", key.min_exclusive ? ">" : ">=", format_number(key.min));
  return key.type;
}

}  // namespace

void add_config_command(CLI::App& app) {
  CLI::App* config = app.add_subcommand("config", "Inspect trial configuration keys");
  config->require_subcommand(1);

  CLI::App* keys = config->add_subcommand(
      "keys", "List every configuration key with its default, allowed values and meaning");
  keys->callback([] {
    std::string group;
    for (const KeyDescription& key : config_keys()) {
      if (key.group != group) {
        group = key.group;
        fmt::print("\n[{}]\n", group);
      }
      fmt::print("  {:<19} {:<16} {}\n  {:<19} {}\n", key.name, key.default_value.dump(),
                 allowed_values(key), "", key.help);
    }
    fmt::print("\nModel presets (model=NAME or NAME/PATCH):\n");
    for (const ModelPreset& p : model_presets()) {
      fmt::print("  {:<6} width {:>4}  depth {:>2}  heads {:>2}  mlp_dim {:>4}\n", p.name, p.width,
                 p.depth, p.heads, p.mlp_dim);
    }
  });

  CLI::App* show = config->add_subcommand(
      "show", "Print the full resolved config (every key) as JSON, after presets and overrides");
  auto sources = std::make_shared<ConfigSources>();
  show->add_option("--config", sources->file, "JSON file of key: value settings")
      ->check(CLI::ExistingFile);
  show->add_option("--set", sources->settings, "KEY=VALUE override (repeatable)");
  show->callback([sources] { fmt::print("{}\n", to_json(load_trial_config(*sources)).dump(2)); });
}

}  // namespace vitsweep::cli
