// A tiny ViT with non-trivial random weights, for gradient checks and layer tests.
#pragma once

#include <string>

#include "common/json.hpp"
#include "common/random.hpp"
#include "config/trial_config.hpp"
#include "engine/attention.hpp"
#include "engine/buffer.hpp"
#include "engine/matmul.hpp"
#include "engine/model_shape.hpp"
#include "engine/parameters.hpp"

namespace vitsweep::testing {

// 8x8 images with 2 channels, patch 4 (4 patches), width 16, 2 heads, depth 2, MLP 24, 5 classes.
inline TrialConfig tiny_config(const OrderedJson& overrides = OrderedJson::object()) {
  OrderedJson settings = {{"dataset", "synthetic"},
                          {"synthetic_size", 8},
                          {"synthetic_channels", 2},
                          {"synthetic_classes", 5},
                          {"patch", 4},
                          {"width", 16},
                          {"heads", 2},
                          {"depth", 2},
                          {"mlp_dim", 24}};
  for (const auto& [k, v] : overrides.items()) settings[k] = v;
  return parse_trial_config(settings, "test");
}

// Unlike the training initialisation (zero head, zero biases), every tensor is random, so every
// gradient is non-zero; q/k weights give attention scores of spread ~1 so each h is exercised
// in its non-linear range.
inline void randomize_parameters(const engine::ParameterLayout& layout, float* values,
                                 uint64_t seed) {
  for (const auto& t : layout.tensors()) {
    Random random(hash_words(seed, fnv1a(t.name)));
    float* p = values + t.offset;
    const bool is_norm_weight =
        t.name.find("norm") != std::string::npos && t.name.ends_with(".weight");
    for (int64_t i = 0; i < t.size; ++i) {
      const double z = random.normal();
      double v;
      if (is_norm_weight)
        v = 1.0 + 0.2 * z;
      else if (t.name.ends_with(".bias"))
        v = 0.1 * z;
      else if (t.shape.size() >= 2 && t.decay)
        v = z * 1.2 / std::sqrt(static_cast<double>(t.size / t.shape[0]));
      else
        v = 0.5 * z;  // pos_embed, cls_token
      p[i] = static_cast<float>(v);
    }
  }
}

// One attention layer (block 0 of `config`'s model) with random weights, zeroed gradients and its
// activations and scratch planned for `batch` images: what layer tests run forward and backward.
struct AttentionLayerFixture {
  AttentionLayerFixture(const TrialConfig& config, int64_t batch, uint64_t seed)
      : shape(engine::ModelShape::from_config(config)),
        layout(shape),
        values(layout.total()),
        grads(layout.total()),
        batch(batch),
        work(shape, batch),
        acts(work.acts),
        scratch(work.scratch) {
    randomize_parameters(layout, values.data(), seed);
    params = bind(layout, values.data()).blocks[0];
    param_grads = bind(layout, grads.data()).blocks[0];
  }

  // Elements in one [B, N, D] tensor.
  int64_t size() const { return batch * shape.tokens * shape.width; }

  engine::ModelShape shape;
  engine::ParameterLayout layout;
  engine::FloatBuffer values, grads;
  engine::BlockTensors params{}, param_grads{};
  int64_t batch;
  engine::AttentionWorkspace work;
  engine::AttentionActivations& acts;
  engine::AttentionScratch& scratch;
  engine::MatmulRunner mm;
};

}  // namespace vitsweep::testing
