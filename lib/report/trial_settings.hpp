// A trial's settings as comparisons need them. The results view shows a config key as NULL when
// it was dropped from the trial's identity (sweep/identity.hpp), which means one of two things:
//   - the key does not apply to the trial (alpha and scale_length under softmax, momentum under
//     AdamW, crop_padding without crop): when trials are paired it matches any value, so softmax
//     pairs with relu at every alpha;
//   - the key is at a default the identity leaves out so that stored hashes stay (scale_length 0
//     under point-wise attention, meaning L is the number of keys): it applies, with that value.
// The trial's full config (trials.config) and the identity rules tell the two apart: a key applies
// to a trial when giving it a value another trial has would put it into the identity.
#pragma once

#include <string>
#include <vector>

#include "common/json.hpp"
#include "config/trial_config.hpp"
#include "report/trial_slices.hpp"
#include "store/database.hpp"

namespace vitsweep::report {

struct Setting {
  Value value;  // typed as in the results view (booleans 0 and 1); NULL when it does not apply
  bool applies = true;
};

// A config value from JSON, typed as the results view types it.
Value setting_from_json(const OrderedJson& value);

// Equal values, or a key that does not apply to one of the two trials.
bool settings_match(const Setting& a, const Setting& b);
// How a setting reads in a table cell: its value, or NULL when it does not apply.
Value setting_value(const Setting& setting);

class TrialSettings {
 public:
  // Reads the full configs of `trials` from the database.
  TrialSettings(store::Database& db, const TrialRows& trials);

  // `key` is a config key (a column of the results view).
  const Setting& get(size_t row, const std::string& key) const;
  const TrialConfig& config(size_t row) const { return configs_[row]; }
  // The config keys of the results view, in config_keys() order.
  const std::vector<std::string>& keys() const { return keys_; }
  // Keys other than seed whose settings differ between `rows` (a key that does not apply to a
  // trial differs from one that does).
  std::vector<std::string> varying_keys(const RowSet& rows) const;

  // The number of keys of attention (tokens, with the class token), and the L of L^-alpha:
  // scale_length when it is set, else the number of keys.
  int64_t sequence_length(size_t row) const;
  int64_t effective_length(size_t row) const;

 private:
  std::vector<std::string> keys_;
  std::vector<TrialConfig> configs_;
  std::vector<std::vector<Setting>> settings_;  // [row][index in keys_]
};

}  // namespace vitsweep::report
