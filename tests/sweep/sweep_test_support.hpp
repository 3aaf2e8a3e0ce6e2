// Shared by the sweep tests: sweep files from inline JSON and the message of an expected error.
#pragma once

#include "support/thrown.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/json.hpp"
#include "sweep/sweep.hpp"

namespace vitsweep::sweep::testing {

inline constexpr std::string_view kSource = "sweeps/x.json";

inline SweepSpec sweep_from(std::string_view json) {
  return parse_sweep(parse_json_strict(json, kSource), kSource);
}

// The UsageError's message; a test failure when `action` does not throw one.
template <typename Action>
std::string usage_error(Action&& action) {
  return vitsweep::testing::thrown_message<UsageError>(std::forward<Action>(action));
}

inline std::string sweep_error(std::string_view json) {
  return usage_error([&] { sweep_from(json); });
}

// One short string per trial from the parsed config, e.g. "relu 0.5 s1", to assert sequences.
inline std::vector<std::string> trial_labels(const SweepSpec& spec,
                                             const std::vector<std::string>& keys) {
  std::vector<std::string> labels;
  for (const auto& trial : expand(spec)) {
    const OrderedJson fields = to_json(trial.config);
    std::string label;
    for (const auto& key : keys) {
      if (!label.empty()) label += ' ';
      const OrderedJson& value = fields[key];
      if (key == "seed") label += 's';
      label += value.is_string() ? value.get<std::string>() : value.dump();
    }
    labels.push_back(label);
  }
  return labels;
}

}  // namespace vitsweep::sweep::testing
