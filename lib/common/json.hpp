// Strict JSON for files users write by hand (configs, sweep files): syntax errors carry line and
// column, duplicate keys are errors (a repeated key must never silently drop a value).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace vitsweep {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// Parses `text`; `source` names it in errors ("sweeps/a.json", "--set alpha"). Throws UsageError:
//   sweeps/a.json:3:14: syntax error: unexpected '}'; expected string literal
//   sweeps/a.json: duplicate key 'grid.alpha'
OrderedJson parse_json_strict(std::string_view text, std::string_view source);

// Reads and parses a file; a missing or unreadable file is an Error naming it.
OrderedJson read_json_file(const std::string& path);

// How a value reads in an error message: `"one"`, `3`, `an object`, `a list`, `null`.
std::string describe_json(const OrderedJson& value);

// "grid.alpha" + 3 -> "grid.alpha[3]"; "" + "base" -> "base"
std::string json_path(std::string_view parent, std::string_view key);
std::string json_path(std::string_view parent, size_t index);

}  // namespace vitsweep
