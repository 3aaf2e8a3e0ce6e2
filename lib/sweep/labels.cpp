#include "sweep/labels.hpp"

#include <fmt/format.h>

#include "common/text.hpp"
#include "config/trial_config.hpp"

namespace vitsweep::sweep {

std::vector<std::string> varying_keys(const std::vector<PlannedTrial>& trials) {
  std::vector<std::string> varying;
  if (trials.empty()) return varying;
  const OrderedJson& first = trials.front().identity;
  for (const std::string& key : config_key_names()) {
    for (const auto& t : trials) {
      const bool same = t.identity.contains(key) == first.contains(key) &&
                        (!first.contains(key) || t.identity[key] == first[key]);
      if (!same) {
        varying.push_back(key);
        break;
      }
    }
  }
  return varying;
}

std::map<std::string, std::string> trial_labels(const std::vector<PlannedTrial>& trials) {
  const std::vector<std::string> keys = varying_keys(trials);
  std::map<std::string, std::string> labels;
  for (const auto& t : trials) {
    std::string label;
    for (const auto& key : keys) {
      if (!t.identity.contains(key)) continue;
      const auto& v = t.identity[key];
      const std::string text = v.is_string()         ? v.get<std::string>()
                               : v.is_number_float() ? format_number(v.get<double>())
                                                     : v.dump();
      label += fmt::format("{}{}={}", label.empty() ? "" : " ", key, text);
    }
    labels[t.hash] = label.empty() ? t.hash.substr(0, 8) : label;
  }
  return labels;
}

}  // namespace vitsweep::sweep
