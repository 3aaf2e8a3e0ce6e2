// Strict JSON for files users write by hand (configs, sweep files): syntax errors carry line and
// column, duplicate keys are errors (a repeated key must never silently drop a value).
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace vitsweep {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// The deepest nesting of lists and objects accepted in any JSON the program reads. nlohmann's
// parser is iterative, but dump(), copies and comparisons recurse once per level: a 200 KB file
// nested 100,000 deep overflows the stack. The program's own documents nest 5 levels at most (a
// protocol line's outcome.epochs[i].test); 64 leaves room for any real file and keeps every
// recursion a few kilobytes deep, well inside a thread's stack.
constexpr size_t kMaxJsonDepth = 64;

// The byte offset of the first bracket in `text` that opens a list or object deeper than
// kMaxJsonDepth, or nullopt. Brackets inside strings do not count; the text need not be valid.
std::optional<size_t> find_excess_nesting(std::string_view text);

// Throws Error if `text` nests deeper than kMaxJsonDepth; `source` names it:
//   ck.safetensors: __metadata__.config:1:65: lists and objects nest deeper than 64 levels
void check_json_nesting(std::string_view text, std::string_view source);

// Parses JSON that a program wrote (a safetensors header, checkpoint metadata, a stored config),
// whose caller reports invalid JSON itself: a syntax error gives a discarded value. Too deep a
// nesting throws Error (check_json_nesting) before anything recurses.
template <typename JsonType = Json>
JsonType parse_json_data(std::string_view text, std::string_view source) {
  check_json_nesting(text, source);
  return JsonType::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
}

// Parses `text`; `source` names it in errors ("sweeps/a.json", "--set alpha"). Throws UsageError:
//   sweeps/a.json:3:14: syntax error: unexpected '}'; expected string literal
//   sweeps/a.json: duplicate key 'grid.alpha'
//   sweeps/a.json:1:65: lists and objects nest deeper than 64 levels
OrderedJson parse_json_strict(std::string_view text, std::string_view source);

// Reads and parses a file; a missing or unreadable file is an Error naming it.
OrderedJson read_json_file(const std::string& path);

// How a value reads in an error message: `"one"`, `3`, `an object`, `a list`, `null`.
// Defined for Json and OrderedJson.
template <typename JsonType>
std::string describe_json(const JsonType& value);

// "grid.alpha" + 3 -> "grid.alpha[3]"; "" + "base" -> "base"
std::string json_path(std::string_view parent, std::string_view key);
std::string json_path(std::string_view parent, size_t index);

}  // namespace vitsweep
