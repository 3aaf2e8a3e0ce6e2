// The PyTorch state dicts in tests/fixtures/pytorch (tests/reference/make_state_dicts.py): model
// files under timm's names with no vitsweep metadata, and expected.safetensors holding, per model,
// probe images, the twin's logits on them and the engine config that describes the model.
#pragma once

#include <string>

#include "common/json.hpp"
#include "engine/safetensors.hpp"

namespace vitsweep::testing {

inline std::string pytorch_fixture(const std::string& model) {
  return VITSWEEP_SOURCE_DIR "/tests/fixtures/pytorch/" + model + ".safetensors";
}

inline engine::SafetensorsFile pytorch_expectations() {
  return engine::SafetensorsFile::read(pytorch_fixture("expected"));
}

// The engine config of `model` on a small synthetic data set (16 training, 8 test images unless
// `overrides` say otherwise).
inline OrderedJson pytorch_fixture_config(const std::string& model,
                                          const OrderedJson& overrides = OrderedJson::object()) {
  OrderedJson settings =
      OrderedJson::parse(pytorch_expectations().metadata_value(model + ".config"));
  settings["synthetic_train"] = 16;
  settings["synthetic_test"] = 8;
  for (const auto& [key, value] : overrides.items()) settings[key] = value;
  return settings;
}

}  // namespace vitsweep::testing
