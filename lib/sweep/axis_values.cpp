#include "sweep/axis_values.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "common/error.hpp"
#include "common/text.hpp"
#include "sweep/settings_check.hpp"

namespace vitsweep::sweep {
namespace {

// Integers beyond 2^53 cannot all be told apart once they pass through a double.
constexpr double kMaxExactInteger = 9007199254740992.0;

bool is_integral(const OrderedJson& value) {
  if (value.is_number_integer() || value.is_number_unsigned()) return true;
  if (!value.is_number_float()) return false;
  const double d = value.get<double>();
  return std::isfinite(d) && d == std::floor(d);
}

// The three numbers of a range or linspace, checked for shape only.
std::vector<double> three_numbers(const OrderedJson& args, std::string_view expected,
                                  std::string_view source, std::string_view path) {
  bool ok = args.is_array() && args.size() == 3;
  for (size_t i = 0; ok && i < 3; ++i) {
    ok = args[i].is_number() && std::isfinite(args[i].get<double>());
  }
  if (!ok) {
    fail_usage("{}: {}: expected {} (three numbers), got {}", source, path, expected,
               describe_json(args));
  }
  return {args[0].get<double>(), args[1].get<double>(), args[2].get<double>()};
}

void check_count(double count, std::string_view source, std::string_view path) {
  if (count > static_cast<double>(kMaxAxisPoints)) {
    fail_usage("{}: {}: gives {} values, more than the {} one axis may hold; check the step",
               source, path, format_number(count), kMaxAxisPoints);
  }
}

std::vector<OrderedJson> integer_range(const std::string& key, const OrderedJson& args,
                                       std::string_view source, std::string_view path) {
  for (size_t i = 0; i < 3; ++i) {
    if (!is_integral(args[i]) || std::fabs(args[i].get<double>()) > kMaxExactInteger) {
      fail_usage("{}: {}: '{}' takes integers, so from, to and step must be integers, got {}",
                 source, path, key, describe_json(args[i]));
    }
  }
  const auto as_int = [](const OrderedJson& v) {
    return v.is_number_float() ? static_cast<int64_t>(v.get<double>()) : v.get<int64_t>();
  };
  const int64_t from = as_int(args[0]), to = as_int(args[1]), step = as_int(args[2]);
  if (step == 0) fail_usage("{}: {}: step must be non-zero", source, path);
  if (to != from && (to > from) != (step > 0)) {
    fail_usage("{}: {}: step {} points away from {} (from {}); use step {}", source, path, step, to,
               from, -step);
  }
  const int64_t count = (to - from) / step + 1;
  check_count(static_cast<double>(count), source, path);
  std::vector<OrderedJson> points;
  points.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) points.emplace_back(from + i * step);
  return points;
}

std::vector<OrderedJson> real_range(const std::vector<double>& args, std::string_view source,
                                    std::string_view path) {
  const double from = args[0], to = args[1], step = args[2];
  if (step == 0) fail_usage("{}: {}: step must be non-zero", source, path);
  const double span = to - from;
  if (span != 0 && (span > 0) != (step > 0)) {
    fail_usage("{}: {}: step {} points away from {} (from {}); use step {}", source, path,
               format_number(step), format_number(to), format_number(from), format_number(-step));
  }
  const double steps = span / step;
  // 2.9999999999999996 steps (0.3 / 0.1) still reaches `to`.
  const double count = std::floor(steps + 1e-9 * std::max(1.0, steps)) + 1;
  check_count(count, source, path);
  const double scale = std::max({std::fabs(from), std::fabs(to), std::fabs(step)});
  std::vector<OrderedJson> points;
  points.reserve(static_cast<size_t>(count));
  for (size_t i = 0; i < static_cast<size_t>(count); ++i) {
    points.emplace_back(round_to_scale(from + static_cast<double>(i) * step, scale));
  }
  return points;
}

std::vector<OrderedJson> linspace(const std::string& key, bool integer, const OrderedJson& args,
                                  std::string_view source, std::string_view path) {
  const auto n = three_numbers(args, "[from, to, n]", source, path);
  const double from = n[0], to = n[1];
  if (!is_integral(args[2]) || n[2] < 1) {
    fail_usage("{}: {}: n must be an integer >= 1, got {}", source, path, describe_json(args[2]));
  }
  check_count(n[2], source, path);
  const auto count = static_cast<size_t>(n[2]);
  const double scale = std::max(std::fabs(from), std::fabs(to));
  std::vector<OrderedJson> points;
  points.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    // The last point is `to` itself rather than from + (n-1) * (to-from)/(n-1).
    const double raw = i + 1 == count && count > 1
                           ? to
                           : from + (to - from) * static_cast<double>(i) /
                                        static_cast<double>(std::max<size_t>(count - 1, 1));
    const double value = round_to_scale(raw, scale);
    if (!integer) {
      points.emplace_back(value);
    } else if (value == std::floor(value) && std::fabs(value) <= kMaxExactInteger) {
      points.emplace_back(static_cast<int64_t>(value));
    } else {
      fail_usage("{}: {}: point {} is {}, but '{}' takes integers", source, path, i,
                 format_number(value), key);
    }
  }
  return points;
}

std::vector<OrderedJson> computed_values(const std::string& key, const OrderedJson& spec,
                                         std::string_view source, std::string_view path) {
  static const std::vector<std::string> kForms = {"range", "linspace"};
  const std::string form = spec.begin().key();
  if (spec.size() != 1 || (form != "range" && form != "linspace")) {
    std::string unknown;
    for (const auto& [k, v] : spec.items()) {
      if (k != "range" && k != "linspace") {
        unknown = fmt::format(" (unknown key '{}'{})", k, did_you_mean(k, kForms));
        break;
      }
    }
    fail_usage(
        "{}: {}: expected {{\"range\": [from, to, step]}} or {{\"linspace\": [from, to, "
        "n]}}{}",
        source, path, unknown);
  }
  const std::string form_path = json_path(path, form);
  const KeyDescription* description = find_config_key(key);
  const bool integer = description->type == "integer";
  if (!integer && description->type != "number") {
    fail_usage("{}: {}: '{}' is a {} key; {} needs a numeric key, list the values instead", source,
               form_path, key, description->type, form);
  }
  std::vector<OrderedJson> points;
  if (form == "linspace") {
    points = linspace(key, integer, spec[form], source, form_path);
  } else {
    const auto args = three_numbers(spec[form], "[from, to, step]", source, form_path);
    points = integer ? integer_range(key, spec[form], source, form_path)
                     : real_range(args, source, form_path);
  }
  if (points.empty()) fail_usage("{}: {}: gives no values", source, form_path);
  for (size_t i = 0; i < points.size(); ++i) {
    check_setting_at(key, points[i], source, fmt::format("{} (point {})", form_path, i));
  }
  return points;
}

}  // namespace

double round_to_scale(double value, double scale) {
  if (value == 0 || scale == 0 || !std::isfinite(value) || !std::isfinite(scale)) {
    return value + 0.0;
  }
  const int decimals = 11 - static_cast<int>(std::floor(std::log10(scale)));
  double rounded;
  if (decimals > 0) {
    // Printing to a fixed number of decimals and reading back gives the double nearest that
    // decimal: the same double the literal would parse to.
    const std::string text = fmt::format("{:.{}f}", value, decimals);
    rounded = std::strtod(text.c_str(), nullptr);
  } else {
    const double quantum = std::pow(10.0, -decimals);
    rounded = std::round(value / quantum) * quantum;
  }
  return rounded + 0.0;
}

std::vector<OrderedJson> parse_axis_values(const std::string& key, const OrderedJson& spec,
                                           std::string_view source, std::string_view path) {
  check_config_key_at(key, source, path);
  if (spec.is_object() && !spec.empty()) return computed_values(key, spec, source, path);
  if (!spec.is_array()) {
    fail_usage("{}: {}: expected a list of values or {{range: ...}} / {{linspace: ...}}, got {}{}",
               source, path, describe_json(spec),
               spec.is_object() ? "" : " (a value shared by every trial belongs in base)");
  }
  if (spec.empty()) fail_usage("{}: {}: empty list; give at least one value", source, path);
  if (spec.size() > kMaxAxisPoints) check_count(static_cast<double>(spec.size()), source, path);
  std::vector<OrderedJson> points;
  points.reserve(spec.size());
  for (size_t i = 0; i < spec.size(); ++i) {
    check_setting_at(key, spec[i], source, json_path(path, i));
    points.push_back(spec[i]);
  }
  return points;
}

}  // namespace vitsweep::sweep
