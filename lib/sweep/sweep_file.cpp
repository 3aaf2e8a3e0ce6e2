#include "sweep/sweep_file.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "common/error.hpp"
#include "common/text.hpp"
#include "config/trial_config.hpp"
#include "sweep/axis_values.hpp"
#include "sweep/identity.hpp"
#include "sweep/settings_check.hpp"

namespace vitsweep::sweep {
namespace {

const std::vector<std::string>& top_level_keys() {
  static const std::vector<std::string> keys = {"name",    "description", "base",  "grid", "zip",
                                                "include", "exclude",     "seeds", "set"};
  return keys;
}

bool is_zip_group(const Axis& axis) { return axis.origin.starts_with("zip["); }

// Where one key of an axis was written: "grid.alpha", "zip[0].width", "--grid alpha=0,1".
std::string key_origin(const Axis& axis, const std::string& key) {
  return is_zip_group(axis) ? json_path(axis.origin, key) : axis.origin;
}

std::string describe_point(const Axis& axis, size_t i) {
  std::vector<std::string> parts;
  for (size_t k = 0; k < axis.keys.size(); ++k) {
    parts.push_back(format_setting(axis.keys[k], axis.points[i][k]));
  }
  return join(parts);
}

// A repeated value would run every trial along it twice (or, after de-duplication, silently
// shrink the axis): almost always a typo.
void check_distinct_points(const Axis& axis, std::string_view source) {
  std::unordered_map<std::string, size_t> first;
  for (size_t i = 0; i < axis.points.size(); ++i) {
    OrderedJson point = OrderedJson::array();
    for (const auto& value : axis.points[i]) point.push_back(value);
    const auto [it, inserted] = first.emplace(canonical_json(point), i);
    if (!inserted) {
      fail_usage("{}: {}: value {} ({}) repeats value {}; every value of an axis must differ",
                 source, axis.origin, i, describe_point(axis, i), it->second);
    }
  }
}

// An axis over keys outside every trial's identity (threads, ranks, data_dir) would collapse to
// one trial per combination of the other axes without a word: refuse it.
void check_axis_changes_trials(const Axis& axis, std::string_view source) {
  if (axis.points.size() < 2) return;
  if (!std::all_of(axis.keys.begin(), axis.keys.end(), never_in_identity)) return;
  const bool speed = std::any_of(axis.keys.begin(), axis.keys.end(), [](const std::string& k) {
    return k == "threads" || k == "ranks";
  });
  fail_usage(
      "{}: {}: {} {} not part of a trial's identity (same result, rounded differently or "
      "run elsewhere), so its {} values would give the same trials; set {} in base or with "
      "--set{}",
      source, axis.origin, join(axis.keys), axis.keys.size() == 1 ? "is" : "are",
      axis.points.size(), axis.keys.size() == 1 ? "it" : "them",
      speed ? " (to time thread or rank counts: sweep bench --threads N, or under mpirun "
              "-np N)"
            : "");
}

void check_unique_keys(const SweepSpec& spec) {
  std::unordered_map<std::string, std::string> origin_of;
  for (const auto& axis : spec.axes) {
    for (const auto& key : axis.keys) {
      const std::string origin = key_origin(axis, key);
      const auto [it, inserted] = origin_of.emplace(key, origin);
      if (!inserted) {
        fail_usage(
            "{}: {}: '{}' already varies in {}; a key can vary along one axis only (to "
            "vary keys together, put them in one zip group)",
            spec.source, origin, key, it->second);
      }
    }
  }
}

[[noreturn]] void fail_seed_conflict(std::string_view source, std::string_view path) {
  fail_usage(
      "{}: {}: 'seed' cannot be set when \"seeds\" is given (seeds replicates every trial "
      "over its list); use one or the other",
      source, path);
}

void check_seed_conflicts(const SweepSpec& spec, const OrderedJson& document) {
  if (spec.seeds.empty()) return;
  if (spec.base.contains("seed")) fail_seed_conflict(spec.source, "base.seed");
  for (const auto& axis : spec.axes) {
    for (const auto& key : axis.keys) {
      if (key == "seed") fail_seed_conflict(spec.source, key_origin(axis, key));
    }
  }
  for (size_t i = 0; i < spec.include.size(); ++i) {
    if (spec.include[i].contains("seed")) {
      fail_seed_conflict(spec.source, json_path(json_path("include", i), "seed"));
    }
  }
  if (document.contains("set") && document["set"].contains("seed")) {
    fail_seed_conflict(spec.source, "set.seed");
  }
}

std::string parse_name(const OrderedJson& value, std::string_view source) {
  const auto allowed = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  };
  if (!value.is_string()) {
    fail_usage("{}: name: expected text such as \"fig2_alpha\", got {}", source,
               describe_json(value));
  }
  const std::string name = value.get<std::string>();
  // The name ends up in folder names and command lines: keep it to characters safe in both.
  if (name.empty() || name.size() > 128 || !std::all_of(name.begin(), name.end(), allowed)) {
    fail_usage("{}: name: expected 1 to 128 letters, digits, '_', '.' or '-', got {}", source,
               describe_json(value));
  }
  return name;
}

void parse_grid(const OrderedJson& grid, SweepSpec& spec) {
  if (!grid.is_object()) {
    fail_usage("{}: grid: expected an object of key: values, got {}", spec.source,
               describe_json(grid));
  }
  for (const auto& [key, values] : grid.items()) {
    Axis axis{{key}, {}, json_path("grid", key)};
    for (auto& value : parse_axis_values(key, values, spec.source, axis.origin)) {
      axis.points.push_back({std::move(value)});
    }
    spec.axes.push_back(std::move(axis));
  }
}

void parse_zip(const OrderedJson& zip, SweepSpec& spec) {
  if (!zip.is_array()) {
    fail_usage(
        "{}: zip: expected a list of groups such as [{{\"width\": [64, 128], \"heads\": [2, "
        "4]}}], got {}",
        spec.source, describe_json(zip));
  }
  for (size_t g = 0; g < zip.size(); ++g) {
    const OrderedJson& group = zip[g];
    Axis axis{{}, {}, json_path("zip", g)};
    if (!group.is_object() || group.empty()) {
      fail_usage("{}: {}: expected a non-empty object of key: values that vary together, got {}",
                 spec.source, axis.origin, describe_json(group));
    }
    std::vector<std::vector<OrderedJson>> columns;
    for (const auto& [key, values] : group.items()) {
      axis.keys.push_back(key);
      columns.push_back(parse_axis_values(key, values, spec.source, json_path(axis.origin, key)));
    }
    const size_t length = columns[0].size();
    if (std::any_of(columns.begin(), columns.end(), [&](auto& c) { return c.size() != length; })) {
      std::vector<std::string> lengths;
      for (size_t k = 0; k < columns.size(); ++k) {
        lengths.push_back(fmt::format("{} has {}", axis.keys[k], columns[k].size()));
      }
      fail_usage("{}: {}: keys that vary together need the same number of values, but {}",
                 spec.source, axis.origin, join(lengths));
    }
    for (size_t i = 0; i < length; ++i) {
      std::vector<OrderedJson> point;
      for (const auto& column : columns) point.push_back(column[i]);
      axis.points.push_back(std::move(point));
    }
    spec.axes.push_back(std::move(axis));
  }
}

std::vector<OrderedJson> parse_entries(const OrderedJson& list, std::string_view what,
                                       bool allow_empty_entry, std::string_view source) {
  if (!list.is_array()) {
    fail_usage("{}: {}: expected a list of objects of key: value settings, got {}", source, what,
               describe_json(list));
  }
  std::vector<OrderedJson> entries;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = json_path(what, i);
    check_settings_at(list[i], source, path);
    if (!allow_empty_entry && list[i].empty()) {
      fail_usage("{}: {}: an empty entry would match every trial; give the keys to match", source,
                 path);
    }
    entries.push_back(list[i]);
  }
  return entries;
}

std::vector<int64_t> parse_seeds(const OrderedJson& value, std::string_view source) {
  std::vector<int64_t> seeds;
  if (value.is_number()) {
    const double count = value.get<double>();
    if (!std::isfinite(count) || count != std::floor(count) || count < 1 ||
        count > static_cast<double>(kMaxAxisPoints)) {
      fail_usage(
          "{}: seeds: expected a count of replicates >= 1 (3 gives seeds 0, 1, 2) or a list "
          "of seeds, got {}",
          source, describe_json(value));
    }
    for (int64_t s = 0; s < static_cast<int64_t>(count); ++s) seeds.push_back(s);
    return seeds;
  }
  if (!value.is_array() || value.empty()) {
    fail_usage(
        "{}: seeds: expected a count of replicates >= 1 (3 gives seeds 0, 1, 2) or a "
        "non-empty list of seeds, got {}",
        source, describe_json(value));
  }
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string path = json_path("seeds", i);
    check_setting_at("seed", value[i], source, path);
    const auto seed = static_cast<int64_t>(value[i].get<double>());
    const auto previous = std::find(seeds.begin(), seeds.end(), seed);
    if (previous != seeds.end()) {
      fail_usage("{}: {}: seed {} repeats seeds[{}]", source, path, seed, previous - seeds.begin());
    }
    seeds.push_back(seed);
  }
  return seeds;
}

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return "";
  const auto last = text.find_last_not_of(" \t");
  return std::string(text.substr(first, last - first + 1));
}

void apply_grid(SweepSpec& spec, const std::string& assignment) {
  const std::string where = fmt::format("--grid {}", assignment);
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    fail_usage("--grid '{}': expected KEY=v1,v2,... (e.g. alpha=0,0.5,1)", assignment);
  }
  const std::string key = assignment.substr(0, eq);
  const std::string text = trim(std::string_view(assignment).substr(eq + 1));
  if (find_config_key(key) == nullptr) {
    fail_usage("{}: unknown config key '{}'{}", where, key, did_you_mean(key, config_key_names()));
  }
  for (const auto& axis : spec.axes) {
    if (is_zip_group(axis) &&
        std::find(axis.keys.begin(), axis.keys.end(), key) != axis.keys.end()) {
      fail_usage("{}: '{}' varies together with {} in {}; change that zip group in the sweep file",
                 where, key, join(axis.keys), axis.origin);
    }
  }
  if (key == "seed" && !spec.seeds.empty()) fail_seed_conflict(where, key);

  Axis axis{{key}, {}, where};
  if (text.starts_with('[') || text.starts_with('{')) {
    for (auto& value : parse_axis_values(key, parse_json_strict(text, where), where, key)) {
      axis.points.push_back({std::move(value)});
    }
  } else {
    for (const auto& item : split(text, ',')) {
      const std::string value_text = trim(item);
      if (value_text.empty()) {
        fail_usage("{}: {}: empty value; expected KEY=v1,v2,... (e.g. alpha=0,0.5,1)", where, key);
      }
      OrderedJson value = parse_setting(fmt::format("{}={}", key, value_text)).second;
      check_setting_at(key, value, where, key);
      axis.points.push_back({std::move(value)});
    }
  }
  check_distinct_points(axis, where);
  check_axis_changes_trials(axis, spec.source);

  auto same_key = [&](const Axis& a) { return !is_zip_group(a) && a.keys == axis.keys; };
  auto existing = std::find_if(spec.axes.begin(), spec.axes.end(), same_key);
  if (existing != spec.axes.end()) {
    *existing = std::move(axis);
    return;
  }
  // After the last grid key, so that the axes stay "grid keys, then zip groups" as in a file.
  auto first_zip = std::find_if(spec.axes.begin(), spec.axes.end(), is_zip_group);
  spec.axes.insert(first_zip, std::move(axis));
}

}  // namespace

std::string format_setting(const std::string& key, const OrderedJson& value) {
  if (value.is_string()) {
    const std::string text = fmt::format("{}={}", key, value.get<std::string>());
    // "attn=relu" unless the text would read back as something else ("true", "3").
    if (parse_setting(text).second == value) return text;
  }
  return fmt::format("{}={}", key, value.dump());
}

SweepSpec parse_sweep(const OrderedJson& document, std::string_view source) {
  SweepSpec spec;
  spec.source = source;
  if (!document.is_object()) {
    fail_usage(
        "{}: expected a sweep: an object such as {{\"name\": \"fig2\", \"grid\": {{\"alpha\": "
        "[0, 1]}}}}, got {}",
        source, describe_json(document));
  }
  for (const auto& [key, value] : document.items()) {
    const auto& known = top_level_keys();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      fail_usage("{}: unknown key '{}'{}", source, key, did_you_mean(key, known));
    }
  }
  if (!document.contains("name")) {
    fail_usage("{}: missing \"name\" (the sweep's name, e.g. \"name\": \"fig2_alpha\")", source);
  }
  spec.name = parse_name(document["name"], source);
  if (document.contains("description")) {
    if (!document["description"].is_string()) {
      fail_usage("{}: description: expected text, got {}", source,
                 describe_json(document["description"]));
    }
    spec.description = document["description"].get<std::string>();
  }
  if (document.contains("base")) {
    check_settings_at(document["base"], source, "base");
    spec.base = document["base"];
  }
  if (document.contains("grid")) parse_grid(document["grid"], spec);
  if (document.contains("zip")) parse_zip(document["zip"], spec);
  if (document.contains("include")) {
    spec.include = parse_entries(document["include"], "include", true, source);
  }
  if (document.contains("exclude")) {
    spec.exclude = parse_entries(document["exclude"], "exclude", false, source);
  }
  if (document.contains("seeds")) spec.seeds = parse_seeds(document["seeds"], source);
  if (document.contains("set")) {
    check_settings_at(document["set"], source, "set");
    for (const auto& [key, value] : document["set"].items()) {
      spec.overrides.push_back(format_setting(key, value));
    }
  }
  check_unique_keys(spec);
  check_seed_conflicts(spec, document);
  for (const auto& axis : spec.axes) {
    check_distinct_points(axis, source);
    check_axis_changes_trials(axis, source);
  }
  return spec;
}

SweepSpec read_sweep_file(const std::string& path) {
  return parse_sweep(read_json_file(path), path);
}

void apply_overrides(SweepSpec& spec, const std::vector<std::string>& sets,
                     const std::vector<std::string>& grids) {
  for (const auto& assignment : grids) apply_grid(spec, assignment);
  check_unique_keys(spec);
  for (const auto& assignment : sets) {
    const auto [key, value] = parse_setting(assignment);
    const std::string where = fmt::format("--set {}", assignment);
    if (find_config_key(key) == nullptr) {
      fail_usage("{}: unknown key '{}'{}", where, key, did_you_mean(key, config_key_names()));
    }
    check_setting(key, value, where);
    if (key == "seed" && !spec.seeds.empty()) fail_seed_conflict(where, key);
    spec.overrides.push_back(assignment);
  }
}

OrderedJson SweepSpec::document() const {
  OrderedJson out = OrderedJson::object();
  out["name"] = name;
  if (!description.empty()) out["description"] = description;
  out["base"] = base;
  OrderedJson grid = OrderedJson::object();
  OrderedJson zip = OrderedJson::array();
  for (const auto& axis : axes) {
    OrderedJson group = OrderedJson::object();
    for (size_t k = 0; k < axis.keys.size(); ++k) {
      OrderedJson values = OrderedJson::array();
      for (const auto& point : axis.points) values.push_back(point[k]);
      group[axis.keys[k]] = std::move(values);
    }
    if (is_zip_group(axis) || axis.keys.size() != 1) {
      zip.push_back(std::move(group));
    } else {
      grid[axis.keys[0]] = std::move(group[axis.keys[0]]);
    }
  }
  out["grid"] = std::move(grid);
  if (!zip.empty()) out["zip"] = std::move(zip);
  if (!include.empty()) out["include"] = include;
  if (!exclude.empty()) out["exclude"] = exclude;
  if (!seeds.empty()) out["seeds"] = seeds;
  if (!overrides.empty()) {
    OrderedJson set = OrderedJson::object();
    for (const auto& assignment : overrides) {
      auto [key, value] = parse_setting(assignment);
      set[key] = std::move(value);
    }
    out["set"] = std::move(set);
  }
  return out;
}

}  // namespace vitsweep::sweep
