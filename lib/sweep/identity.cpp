#include "sweep/identity.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "common/sha256.hpp"
#include "common/text.hpp"

namespace vitsweep::sweep {
namespace {

struct IrrelevantKey {
  std::string_view key;  // a trailing '*' matches every key with that prefix
  bool (*irrelevant)(const TrialConfig&);
};

bool always(const TrialConfig&) { return true; }
// Only point-wise attention scales by L^-alpha.
bool no_length_scale(const TrialConfig& c) { return c.attn == "softmax" || c.attn == "none"; }
bool no_attention(const TrialConfig& c) { return c.attn == "none"; }

// The rules listed in identity.hpp; keep the two in step.
constexpr IrrelevantKey kIrrelevantKeys[] = {
    {"alpha", no_length_scale},
    // 0 means the number of keys: trials stored before the key existed keep their hashes.
    {"scale_length",
     [](const TrialConfig& c) {
       return no_length_scale(c) || c.alpha == 0 || c.scale_length == 0 ||
              c.scale_length == sequence_length(c);
     }},
    // Settings of the attention branch, which attn = none does not have.
    {"heads", no_attention},
    {"qk_norm", no_attention},
    {"gate", no_attention},
    {"momentum", [](const TrialConfig& c) { return c.optimizer == "adamw"; }},
    {"beta1", [](const TrialConfig& c) { return c.optimizer == "sgd"; }},
    {"beta2", [](const TrialConfig& c) { return c.optimizer == "sgd"; }},
    {"eps", [](const TrialConfig& c) { return c.optimizer == "sgd"; }},
    {"synthetic_*", [](const TrialConfig& c) { return c.dataset != "synthetic"; }},
    {"crop_padding",
     [](const TrialConfig& c) { return c.augment.find("crop") == std::string::npos; }},
    {"threads", always},
    // Data parallel ranks train on the same global batches and average the same gradients; only
    // the order of the batch sum differs (as with threads), and a checkpoint resumes on any
    // number of ranks, which needs the same identity. Dropping it keeps every stored hash.
    {"ranks", always},
    // 0 for every real trial: trials stored before the key existed keep their hashes.
    {"simulate_s", [](const TrialConfig& c) { return c.simulate_s == 0; }},
    // Under bf16 the matmul kernel rounds Q, K, weights and V to bf16; the fused one stays f32.
    {"attn_kernel", [](const TrialConfig& c) { return c.precision == "f32" || no_attention(c); }},
    {"data_dir", always},
    {"model", always},
};

bool matches(std::string_view pattern, std::string_view key) {
  if (pattern.ends_with('*')) return key.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == key;
}

void write_canonical(const OrderedJson& value, std::string& out) {
  using Type = nlohmann::json::value_t;
  switch (value.type()) {
    case Type::object: {
      std::vector<const std::string*> keys;
      for (const auto& [key, child] : value.items()) keys.push_back(&key);
      std::sort(keys.begin(), keys.end(), [](auto* a, auto* b) { return *a < *b; });
      out += '{';
      for (size_t i = 0; i < keys.size(); ++i) {
        if (i > 0) out += ',';
        write_canonical(OrderedJson(*keys[i]), out);
        out += ':';
        write_canonical(value.at(*keys[i]), out);
      }
      out += '}';
      break;
    }
    case Type::array:
      out += '[';
      for (size_t i = 0; i < value.size(); ++i) {
        if (i > 0) out += ',';
        write_canonical(value[i], out);
      }
      out += ']';
      break;
    case Type::string:
      out += value.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
      break;
    case Type::boolean: out += value.get<bool>() ? "true" : "false"; break;
    case Type::number_integer: out += std::to_string(value.get<int64_t>()); break;
    case Type::number_unsigned: out += std::to_string(value.get<uint64_t>()); break;
    case Type::number_float: {
      const double d = value.get<double>();
      // JSON has no NaN or infinity; config validation never lets one through.
      if (!std::isfinite(d)) fail("canonical_json: non-finite number {}", format_number(d));
      out += format_number(d + 0.0);
      break;
    }
    case Type::null: out += "null"; break;
    default: fail("canonical_json: cannot write {}", value.type_name());
  }
}

}  // namespace

bool never_in_identity(std::string_view key) {
  if (key == "model") return false;  // a label whose sizes stay
  for (const auto& rule : kIrrelevantKeys) {
    if (matches(rule.key, key)) return rule.irrelevant == always;
  }
  return false;
}

std::vector<std::string> irrelevant_keys(const TrialConfig& config) {
  std::vector<std::string> dropped;
  for (const auto& key : config_key_names()) {
    for (const auto& rule : kIrrelevantKeys) {
      if (matches(rule.key, key) && rule.irrelevant(config)) {
        dropped.push_back(key);
        break;
      }
    }
  }
  return dropped;
}

OrderedJson normalize_config(const TrialConfig& config) {
  OrderedJson identity = to_json(config);
  for (const auto& key : irrelevant_keys(config)) identity.erase(key);
  return identity;
}

std::string canonical_json(const OrderedJson& identity) {
  std::string out;
  write_canonical(identity, out);
  return out;
}

std::string identity_hash(const OrderedJson& identity) {
  return sha256_hex(canonical_json(identity)).substr(0, 16);
}

std::string trial_hash(const TrialConfig& config) {
  return identity_hash(normalize_config(config));
}

}  // namespace vitsweep::sweep
