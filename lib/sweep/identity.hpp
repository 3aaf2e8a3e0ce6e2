// A trial's identity: the settings that can change its result, as canonical text, hashed. Two
// configs with the same identity are the same experiment, run once and stored once.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/json.hpp"
#include "config/trial_config.hpp"

namespace vitsweep::sweep {

// Keys dropped from the identity because they cannot affect this trial's result, so such trials
// collapse into one (a softmax trial swept over five alphas runs once):
//   alpha                  when attn == softmax or none (only point-wise attention scales by
//                          L^-alpha)
//   scale_length           when attn == softmax or none, alpha == 0 (L^0 = 1), or it is 0 (the
//                          default: the number of keys) or equals the number of keys
//   heads, qk_norm, gate   when attn == none (no attention branch)
//   momentum               when optimizer == adamw (SGD's)
//   beta1, beta2, eps      when optimizer == sgd (AdamW's)
//   synthetic_*            when dataset != synthetic (they describe the synthetic data set)
//   crop_padding           when augment has no crop
//   threads                always (it changes only floating-point rounding)
//   attn_kernel            when precision == f32 (fused or matmul: the same maths, rounded
//                          differently; under bf16 only the matmul kernel rounds to bf16), or
//                          attn == none
//   simulate_s             when 0 (every real trial)
//   data_dir               always (where the files are, not what they hold)
//   model                  always (a label for width, depth, heads, mlp_dim and patch, which stay)
// The table in identity.cpp is the one place these rules live. Changing it changes the hash of
// every stored trial it touches.
std::vector<std::string> irrelevant_keys(const TrialConfig& config);

// True for a key that no trial's identity holds and that sets no key that does: threads, ranks
// and data_dir. An axis over one of them gives the same trial at every value. (model is dropped
// too, but the sizes it sets stay in the identity.)
bool never_in_identity(std::string_view key);

// to_json(config) without irrelevant_keys(config).
OrderedJson normalize_config(const TrialConfig& config);

// The canonical text of a JSON value, the input of the hash:
//   - compact: no whitespace at all;
//   - object keys sorted by their UTF-8 bytes, at every level; list order kept;
//   - integers in decimal ("128", "-1");
//   - reals as the shortest decimal that reads back as the same double (format_number):
//     1.0 -> 1, 0.1 -> 0.1, 1e-08 -> 1e-08, 1e+21 -> 1e+21;
//   - true, false and null as such; strings JSON-escaped as nlohmann::json writes them (UTF-8 kept,
//     control characters and " and \ escaped).
// e.g. {"b": 0.5, "a": [1.0, true]} -> {"a":[1,true],"b":0.5}
std::string canonical_json(const OrderedJson& identity);

// First 16 hex characters of sha256_hex(canonical_json(identity)).
std::string identity_hash(const OrderedJson& identity);

// identity_hash(normalize_config(config)).
std::string trial_hash(const TrialConfig& config);

}  // namespace vitsweep::sweep
