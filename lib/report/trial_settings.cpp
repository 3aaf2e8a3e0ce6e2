#include "report/trial_settings.hpp"

#include <algorithm>
#include <map>

#include "common/error.hpp"
#include "common/json.hpp"
#include "report/read_only_sql.hpp"
#include "sweep/identity.hpp"

namespace vitsweep::report {

namespace {

const KeyDescription& describe(const std::string& key) {
  for (const auto& k : config_keys()) {
    if (k.name == key) return k;
  }
  fail("internal: no config key '{}'", key);
}

OrderedJson to_json_value(const std::string& key, const Value& v) {
  const std::string& type = describe(key).type;
  if (type == "boolean") return as_number(v).value_or(0) != 0;
  if (type == "integer") return static_cast<int64_t>(as_number(v).value_or(0));
  if (type == "number") return as_number(v).value_or(0);
  return format_value(v);
}

// Whether `key` stays out of the identity of `config` when it takes the value `probe`: then it
// does not apply to the trial at all (rather than being left out at its default).
bool irrelevant_at(const TrialConfig& config, const std::string& key, const Value& probe) {
  OrderedJson settings = to_json(config);
  settings[key] = to_json_value(key, probe);
  TrialConfig probed;
  try {
    probed = parse_trial_config(settings, "probe");
  } catch (const UsageError&) {
    return false;  // the value does not fit this trial: keep the key, never match it loosely
  }
  const auto dropped = sweep::irrelevant_keys(probed);
  return std::find(dropped.begin(), dropped.end(), key) != dropped.end();
}

// Whether `key`, at `own` in `config`, applies: some other value trials have (`present`) would
// put it into the identity. Every one is tried, since a value can be left out for meaning the
// same as `own` (scale_length equal to the number of keys) while another is not. With no other
// value to try, the trial's own value decides: softmax's alpha does not apply whether its config
// holds the alpha every other trial has or another.
bool applies_to(const TrialConfig& config, const std::string& key, const Value& own,
                const std::vector<Value>& present) {
  bool tried = false;
  for (const Value& probe : present) {
    if (value_equal(probe, own)) continue;
    if (!irrelevant_at(config, key, probe)) return true;
    tried = true;
  }
  return !tried && !irrelevant_at(config, key, own);
}

std::map<std::string, TrialConfig> read_configs(store::Database& db, const TrialRows& trials) {
  std::map<std::string, TrialConfig> configs;
  std::map<std::string, bool> wanted;
  for (size_t r = 0; r < trials.size(); ++r) wanted[format_value(trials.at(r, "trial"))] = true;
  const ValueTable stored =
      read_only_query(db, "SELECT hash, config FROM trials", {}, "trial settings");
  for (const auto& row : stored.rows) {
    const std::string hash = format_value(row[0]);
    if (!wanted.count(hash)) continue;
    const std::string source = fmt::format("{}: trial {} config", db.path(), hash);
    configs.emplace(hash,
                    parse_trial_config(parse_json_strict(format_value(row[1]), source), source));
  }
  return configs;
}

}  // namespace

// json_extract gives booleans as 0 and 1.
Value setting_from_json(const OrderedJson& v) {
  if (v.is_boolean()) return static_cast<int64_t>(v.get<bool>() ? 1 : 0);
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) return v.get<std::string>();
  return std::monostate{};
}

bool settings_match(const Setting& a, const Setting& b) {
  return !a.applies || !b.applies || value_equal(a.value, b.value);
}

Value setting_value(const Setting& setting) { return setting.applies ? setting.value : Value{}; }

TrialSettings::TrialSettings(store::Database& db, const TrialRows& trials) {
  for (const auto& key : config_key_names()) {
    if (trials.table().find(key)) keys_.push_back(key);
  }
  const auto stored = read_configs(db, trials);
  // Per key, the values some trial has: the probes for a NULL.
  std::vector<std::vector<Value>> present(keys_.size());
  for (size_t k = 0; k < keys_.size(); ++k) {
    for (size_t r = 0; r < trials.size(); ++r) {
      const Value& v = trials.at(r, keys_[k]);
      if (!is_null(v) && std::none_of(present[k].begin(), present[k].end(),
                                      [&](const Value& p) { return value_equal(p, v); })) {
        present[k].push_back(v);
      }
    }
  }
  for (size_t r = 0; r < trials.size(); ++r) {
    const std::string hash = format_value(trials.at(r, "trial"));
    const auto it = stored.find(hash);
    if (it == stored.end()) fail("{}: trial {} has no stored config", db.path(), hash);
    configs_.push_back(it->second);
    const OrderedJson full = to_json(it->second);
    std::vector<Setting> row;
    for (size_t k = 0; k < keys_.size(); ++k) {
      const Value& v = trials.at(r, keys_[k]);
      if (!is_null(v) || present[k].empty()) {
        row.push_back({v, true});  // set, or NULL for every trial alike
        continue;
      }
      const Value own = setting_from_json(full.at(keys_[k]));
      if (applies_to(it->second, keys_[k], own, present[k]))
        row.push_back({own, true});
      else
        row.push_back({Value{}, false});
    }
    settings_.push_back(std::move(row));
  }
}

const Setting& TrialSettings::get(size_t row, const std::string& key) const {
  const auto it = std::find(keys_.begin(), keys_.end(), key);
  if (it == keys_.end()) fail("internal: '{}' is not a config column of the results", key);
  return settings_[row][static_cast<size_t>(it - keys_.begin())];
}

std::vector<std::string> TrialSettings::varying_keys(const RowSet& rows) const {
  std::vector<std::string> varying;
  if (rows.empty()) return varying;
  for (size_t k = 0; k < keys_.size(); ++k) {
    if (keys_[k] == "seed") continue;
    const Setting& first = settings_[rows.front()][k];
    for (size_t r : rows) {
      const Setting& s = settings_[r][k];
      if (s.applies != first.applies || !value_equal(s.value, first.value)) {
        varying.push_back(keys_[k]);
        break;
      }
    }
  }
  return varying;
}

int64_t TrialSettings::sequence_length(size_t row) const {
  return vitsweep::sequence_length(configs_[row]);
}

int64_t TrialSettings::effective_length(size_t row) const {
  const TrialConfig& c = configs_[row];
  return c.scale_length > 0 ? c.scale_length : sequence_length(row);
}

}  // namespace vitsweep::report
