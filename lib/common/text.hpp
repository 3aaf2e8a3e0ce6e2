// Small text helpers shared by every part that reports errors to a user.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vitsweep {

// Edit distance counting insertions, deletions, substitutions and swaps of neighbouring letters.
size_t edit_distance(std::string_view a, std::string_view b);

// " (did you mean 'x'?)" when a candidate is within max(1, |word| / 3) edits, "" otherwise.
std::string did_you_mean(std::string_view word, std::span<const std::string> candidates);

// "a, b, c"
std::string join(std::span<const std::string> items, std::string_view separator = ", ");

std::vector<std::string> split(std::string_view text, char separator);

// Shortest text that reads back as exactly the same double ("0.1", "1e-08", "3").
std::string format_number(double value);

// "1m 05s", "2h 03m", "12.3s": durations for progress lines.
std::string format_duration(double seconds);

// Seconds in "3600", "90s", "15m", "2.5h", "1d", or Slurm's "[D-]HH:MM:SS" / "MM:SS"; nullopt for
// anything else (negative, empty, unknown unit).
std::optional<double> parse_duration(std::string_view text);

}  // namespace vitsweep
