#include "sweep/settings_check.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "common/text.hpp"

namespace vitsweep::sweep {
namespace {

// check_setting names its source first; this one cannot occur in a real file name, so the
// prefix can be recognised and replaced by the file and JSON path.
constexpr std::string_view kMarker = "\x1f<setting>";

}  // namespace

const KeyDescription* find_config_key(std::string_view key) {
  for (const auto& description : config_keys()) {
    if (description.name == key) return &description;
  }
  return nullptr;
}

void check_config_key_at(const std::string& key, std::string_view source, std::string_view path) {
  if (find_config_key(key) != nullptr) return;
  fail_usage("{}: {}: unknown config key '{}'{}", source, path, key,
             did_you_mean(key, config_key_names()));
}

void check_setting_at(const std::string& key, const OrderedJson& value, std::string_view source,
                      std::string_view path) {
  const KeyDescription* description = find_config_key(key);
  if (description == nullptr) check_config_key_at(key, source, path);
  try {
    check_setting(key, value, kMarker);
  } catch (const UsageError& e) {
    std::string_view message = e.what();
    const std::string keyed = fmt::format("{}: key '{}': ", kMarker, key);
    const std::string plain = fmt::format("{}: ", kMarker);
    if (message.starts_with(keyed)) {
      message.remove_prefix(keyed.size());
    } else if (message.starts_with(plain)) {
      message.remove_prefix(plain.size());
    }
    fail_usage("{}: {}: {}", source, path, message);
  }
}

void check_settings_at(const OrderedJson& settings, std::string_view source,
                       std::string_view path) {
  if (!settings.is_object()) {
    fail_usage("{}: {}: expected an object of key: value settings, got {}", source, path,
               describe_json(settings));
  }
  for (const auto& [key, value] : settings.items()) {
    check_setting_at(key, value, source, json_path(path, key));
  }
}

}  // namespace vitsweep::sweep
