#include "common/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "common/error.hpp"

namespace vitsweep {

std::string errno_text(int err) { return std::strerror(err); }

size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: Levenshtein plus the swap of two neighbouring letters as one edit,
  // the commonest slip when typing keys by hand ("gird", "alpah", "widht").
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitute = d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, substitute});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string did_you_mean(std::string_view word, std::span<const std::string> candidates) {
  const std::string* best = nullptr;
  size_t best_distance = 0;
  for (const auto& candidate : candidates) {
    const size_t d = edit_distance(word, candidate);
    if (best == nullptr || d < best_distance) {
      best = &candidate;
      best_distance = d;
    }
  }
  // Close enough to be a typo: at most a third of the word's letters wrong (and at least 1).
  const size_t allowed = std::max<size_t>(1, word.size() / 3);
  if (best == nullptr || best_distance == 0 || best_distance > allowed) return "";
  return fmt::format(" (did you mean '{}'?)", *best);
}

std::string join(std::span<const std::string> items, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += items[i];
  }
  return out;
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}

std::string format_number(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // fmt's default for double is the shortest round-trip representation.
  return fmt::format("{}", value);
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  if (seconds < 60) return fmt::format("{:.1f}s", seconds);
  const long total = std::lround(seconds);
  if (total < 3600) return fmt::format("{}m {:02d}s", total / 60, static_cast<int>(total % 60));
  return fmt::format("{}h {:02d}m", total / 3600, static_cast<int>((total % 3600) / 60));
}

std::optional<double> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  // Slurm's clock form: [days-]hours:minutes:seconds, or minutes:seconds.
  if (text.find(':') != std::string_view::npos) {
    double days = 0;
    const auto dash = text.find('-');
    if (dash != std::string_view::npos) {
      const auto d = parse_duration(text.substr(0, dash));
      if (!d) return std::nullopt;
      days = *d;
      text.remove_prefix(dash + 1);
    }
    double total = 0;
    const std::vector<std::string> parts = split(text, ':');
    if (parts.size() > 3) return std::nullopt;
    for (const std::string& part : parts) {
      const auto value = parse_duration(part);
      if (!value) return std::nullopt;
      total = total * 60 + *value;
    }
    return days * 86400 + total;
  }
  // An optional unit suffix: s, m, h or d.
  constexpr std::string_view kUnits = "smhd";
  constexpr double kUnitSeconds[] = {1, 60, 3600, 86400};
  double unit = 1;
  if (const size_t u = kUnits.find(text.back()); u != std::string_view::npos) {
    unit = kUnitSeconds[u];
    text.remove_suffix(1);
  }
  const std::string number(text);
  char* end = nullptr;
  const double value = std::strtod(number.c_str(), &end);
  if (number.empty() || end != number.c_str() + number.size() || !std::isfinite(value) ||
      value < 0) {
    return std::nullopt;
  }
  return value * unit;
}

}  // namespace vitsweep
