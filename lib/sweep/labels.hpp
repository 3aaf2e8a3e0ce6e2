// Short names for the trials of a sweep, for progress lines and tables: only the keys whose
// value differs between the trials ("attn=relu alpha=0.5 seed=1").
#pragma once

#include <map>
#include <string>
#include <vector>

#include "sweep/expansion.hpp"

namespace vitsweep::sweep {

// Config keys (in config key order) whose identity value differs across `trials`; a key present
// in some trials only (alpha, absent under softmax) differs too.
std::vector<std::string> varying_keys(const std::vector<PlannedTrial>& trials);

// hash -> "key=value key=value" over the varying keys (the hash's first 8 characters when
// nothing varies).
std::map<std::string, std::string> trial_labels(const std::vector<PlannedTrial>& trials);

}  // namespace vitsweep::sweep
