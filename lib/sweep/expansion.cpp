#include "sweep/expansion.hpp"

#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>
#include <unordered_set>
#include <utility>

#include "common/error.hpp"
#include "common/text.hpp"
#include "sweep/identity.hpp"

namespace vitsweep::sweep {
namespace {

constexpr uint64_t kSaturated = std::numeric_limits<uint64_t>::max();

uint64_t multiply(uint64_t a, uint64_t b) {
  uint64_t out;
  return __builtin_mul_overflow(a, b, &out) ? kSaturated : out;
}

uint64_t add(uint64_t a, uint64_t b) {
  uint64_t out;
  return __builtin_add_overflow(a, b, &out) ? kSaturated : out;
}

// parse_trial_config names its source first; replaced by the trial's description once one fails.
constexpr std::string_view kMarker = "\x1f<trial>";

std::string describe_varied(const OrderedJson& varied, std::string_view origin) {
  std::vector<std::string> parts;
  for (const auto& [key, value] : varied.items()) parts.push_back(format_setting(key, value));
  std::string text = join(parts);
  if (origin == "grid") return parts.empty() ? "base" : text;
  return parts.empty() ? std::string(origin) : fmt::format("{}: {}", origin, text);
}

// The config a trial's settings describe, without the cross-key checks that parse_trial_config
// makes: only to let an exclude entry drop a combination that would not validate. Every value was
// already checked on its own when the sweep was parsed.
TrialConfig build_unchecked(const OrderedJson& settings) {
  TrialConfig config;
  if (settings.contains("model")) {
    const std::string model = settings["model"].get<std::string>();
    const auto slash = model.find('/');
    for (const auto& preset : model_presets()) {
      if (preset.name != model.substr(0, slash)) continue;
      config.width = preset.width;
      config.depth = preset.depth;
      config.heads = preset.heads;
      config.mlp_dim = preset.mlp_dim;
    }
    if (slash != std::string::npos) config.patch = std::stoll(model.substr(slash + 1));
  }
  visit_keys(config, [&](const KeyInfo& info, auto& field) {
    using T = std::decay_t<decltype(field)>;
    const std::string name(info.name);
    if (!settings.contains(name)) return;
    if constexpr (std::is_same_v<T, int64_t>) {
      field = static_cast<int64_t>(settings[name].get<double>());
    } else {
      field = settings[name].get<T>();
    }
  });
  return config;
}

// Typed comparison of a config's fields with an exclude entry: numbers by value (2 == 2.0).
bool matches_entry(const OrderedJson& fields, const OrderedJson& entry) {
  for (const auto& [key, wanted] : entry.items()) {
    const OrderedJson& actual = fields.at(key);
    if (wanted.is_number() && actual.is_number()) {
      if (wanted.get<double>() != actual.get<double>()) return false;
    } else if (wanted != actual) {
      return false;
    }
  }
  return true;
}

bool excluded(const TrialConfig& config, const std::vector<OrderedJson>& exclude) {
  if (exclude.empty()) return false;
  const OrderedJson fields = to_json(config);
  for (const auto& entry : exclude) {
    if (matches_entry(fields, entry)) return true;
  }
  return false;
}

class Planner {
 public:
  Planner(const SweepSpec& spec, const std::function<bool(const PlannedTrial&)>& visit)
      : spec_(spec), visit_(visit) {
    for (const auto& assignment : spec.overrides) {
      auto [key, value] = parse_setting(assignment);
      check_setting(key, value, fmt::format("--set {}", assignment));
      overrides_.emplace_back(std::move(key), std::move(value));
    }
    if (spec.seeds.empty()) {
      seeds_.push_back(std::nullopt);
    } else {
      seeds_.assign(spec.seeds.begin(), spec.seeds.end());
    }
  }

  void run() {
    if (!run_grid()) return;
    for (size_t i = 0; i < spec_.include.size(); ++i) {
      OrderedJson settings = spec_.base;
      for (const auto& [key, value] : spec_.include[i].items()) settings[key] = value;
      if (!offer_seeds(settings, spec_.include[i], json_path("include", i), false)) return;
    }
  }

 private:
  // The expansion order of expansion.hpp: counting in mixed radix over the axes, the first axis
  // the slowest digit and the last the fastest; offer_seeds puts the seeds innermost of all.
  bool run_grid() {
    const auto& axes = spec_.axes;
    for (const auto& axis : axes) {
      if (axis.points.empty()) return true;
    }
    std::vector<size_t> digits(axes.size(), 0);
    while (true) {
      OrderedJson settings = spec_.base;
      OrderedJson varied = OrderedJson::object();
      for (size_t a = 0; a < axes.size(); ++a) {
        for (size_t k = 0; k < axes[a].keys.size(); ++k) {
          settings[axes[a].keys[k]] = axes[a].points[digits[a]][k];
          varied[axes[a].keys[k]] = axes[a].points[digits[a]][k];
        }
      }
      if (!offer_seeds(settings, varied, "grid", true)) return false;
      size_t a = axes.size();
      while (a > 0) {
        --a;
        if (++digits[a] < axes[a].points.size()) break;
        digits[a] = 0;
        if (a == 0) return true;
      }
      if (axes.empty()) return true;
    }
  }

  bool offer_seeds(const OrderedJson& settings, const OrderedJson& varied,
                   const std::string& origin, bool excludable) {
    for (const auto& seed : seeds_) {
      OrderedJson trial_settings = settings;
      OrderedJson trial_varied = varied;
      if (seed) {
        trial_settings["seed"] = *seed;
        trial_varied["seed"] = *seed;
      }
      for (const auto& [key, value] : overrides_) trial_settings[key] = value;
      if (!offer(std::move(trial_settings), std::move(trial_varied), origin, excludable)) {
        return false;
      }
    }
    return true;
  }

  bool offer(OrderedJson settings, OrderedJson varied, const std::string& origin, bool excludable) {
    TrialConfig config;
    try {
      config = parse_trial_config(settings, kMarker);
    } catch (const UsageError& e) {
      // An exclude entry may exist precisely to drop combinations that do not validate.
      if (excludable && excluded(build_unchecked(settings), spec_.exclude)) return true;
      std::string_view message = e.what();
      const std::string prefix = fmt::format("{}: ", kMarker);
      if (message.starts_with(prefix)) message.remove_prefix(prefix.size());
      fail_usage("{}: trial {} ({}): {}", spec_.source, position_, describe_varied(varied, origin),
                 message);
    }
    if (excludable && excluded(config, spec_.exclude)) return true;
    OrderedJson identity = normalize_config(config);
    std::string hash = identity_hash(identity);
    if (!seen_.insert(hash).second) return true;
    PlannedTrial trial;
    trial.position = position_++;
    trial.settings = std::move(settings);
    trial.config = std::move(config);
    trial.identity = std::move(identity);
    trial.hash = std::move(hash);
    trial.varied = std::move(varied);
    trial.origin = origin;
    return visit_(trial);
  }

  const SweepSpec& spec_;
  const std::function<bool(const PlannedTrial&)>& visit_;
  std::vector<std::pair<std::string, OrderedJson>> overrides_;
  std::vector<std::optional<int64_t>> seeds_;
  std::unordered_set<std::string> seen_;
  int64_t position_ = 0;
};

}  // namespace

uint64_t grid_size(const SweepSpec& spec) {
  const uint64_t replicates = std::max<uint64_t>(1, spec.seeds.size());
  uint64_t points = 1;
  for (const auto& axis : spec.axes) points = multiply(points, axis.points.size());
  return add(multiply(points, replicates), multiply(spec.include.size(), replicates));
}

namespace {

std::string describe_factors(const SweepSpec& spec) {
  std::vector<std::string> factors;
  for (const auto& axis : spec.axes) {
    factors.push_back(fmt::format("{} ({})", axis.points.size(), join(axis.keys, "+")));
  }
  if (factors.empty()) factors.push_back("1 (base)");
  const std::string seeds = spec.seeds.empty() ? "" : fmt::format(" x {} seeds", spec.seeds.size());
  std::string text = join(factors, " x ") + seeds;
  if (!spec.include.empty()) {
    text += fmt::format(" + {} include{}{}", spec.include.size(),
                        spec.include.size() == 1 ? "" : "s", seeds);
  }
  return text;
}

}  // namespace

std::string describe_grid_size(const SweepSpec& spec) {
  const std::string text = describe_factors(spec);
  const uint64_t total = grid_size(spec);
  return total == kSaturated ? text + " = more than 2^64" : fmt::format("{} = {}", text, total);
}

void for_each_trial(const SweepSpec& spec, const std::function<bool(const PlannedTrial&)>& visit) {
  Planner(spec, visit).run();
}

std::vector<PlannedTrial> expand(const SweepSpec& spec, uint64_t limit) {
  const uint64_t most = grid_size(spec);
  if (most > limit) {
    fail_usage(
        "{}: the sweep has up to {} trials ({}), more than the limit of {}; narrow the grid "
        "(fewer values per key, zip groups instead of crossed keys, fewer seeds)",
        spec.source, most == kSaturated ? "2^64" : std::to_string(most), describe_factors(spec),
        limit);
  }
  std::vector<PlannedTrial> trials;
  for_each_trial(spec, [&](const PlannedTrial& trial) {
    trials.push_back(trial);
    return true;
  });
  return trials;
}

}  // namespace vitsweep::sweep
