// Config settings checked where they appear in a sweep file, so every message reads
// "sweeps/x.json: grid.alpha[3]: expected a number in [-16, 16], got "one"": the file, the JSON
// path, then what config's check_setting expected and found.
#pragma once

#include <string>
#include <string_view>

#include "common/json.hpp"
#include "config/trial_config.hpp"

namespace vitsweep::sweep {

// The key's row in config's key table, or nullptr for an unknown key.
const KeyDescription* find_config_key(std::string_view key);

// UsageError "SOURCE: PATH: unknown config key 'attnn' (did you mean 'attn'?)" for an unknown key.
void check_config_key_at(const std::string& key, std::string_view source, std::string_view path);

// check_setting (known key, type, range, choices) with its message rewritten to
// "SOURCE: PATH: expected ..., got ...".
void check_setting_at(const std::string& key, const OrderedJson& value, std::string_view source,
                      std::string_view path);

// An object of partial settings (base, an include or exclude entry): every key at PATH.KEY.
void check_settings_at(const OrderedJson& settings, std::string_view source, std::string_view path);

}  // namespace vitsweep::sweep
