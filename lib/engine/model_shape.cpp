#include "engine/model_shape.hpp"

#include <cmath>

namespace vitsweep::engine {

ModelShape ModelShape::from_config(const TrialConfig& config) {
  ModelShape s;
  const ImageSpec image = image_spec(config);
  s.channels = image.channels;
  s.image_height = image.height;
  s.image_width = image.width;
  s.classes = image.classes;
  s.patch = config.patch;
  s.grid_h = image.height / config.patch;
  s.grid_w = image.width / config.patch;
  s.patches = s.grid_h * s.grid_w;
  s.cls_token = config.pool == "cls";
  s.tokens = s.patches + (s.cls_token ? 1 : 0);
  s.patch_dim = s.channels * s.patch * s.patch;
  s.width = config.width;
  s.depth = config.depth;
  s.heads = config.heads;
  s.head_dim = config.width / config.heads;
  s.mlp_dim = config.mlp_dim;
  s.learned_posemb = config.posemb == "learned";
  s.attention_branch = config.attn != "none";
  s.qk_norm = s.attention_branch && config.qk_norm;
  s.gated = s.attention_branch && config.gate != "none";
  if (s.gated) s.gate_activation = activation_from_name(config.gate);
  if (s.attention_branch) s.attention = AttentionFunction::from_name(config.attn);
  s.alpha = config.alpha;
  s.scale_length = config.scale_length;
  s.fused_attention = config.attn_kernel == "fused";
  return s;
}

float ModelShape::length_scale() const {
  if (attention.is_softmax()) return 1.0f;
  const int64_t length = scale_length > 0 ? scale_length : tokens;
  return static_cast<float>(std::pow(static_cast<double>(length), -alpha));
}

double ModelShape::forward_flops_per_image() const {
  const double n = tokens, d = width, f = mlp_dim;
  const double embed = 2.0 * patches * patch_dim * d;
  const double projections = 2.0 * n * d * (3 * d + d + (gated ? d : 0));
  const double attention_products = 2.0 * 2.0 * n * n * d;  // Q.K^T and A.V over all heads
  const double attention = attention_branch ? projections + attention_products : 0.0;
  const double mlp = 2.0 * 2.0 * n * d * f;
  const double head = 2.0 * d * classes;
  return embed + depth * (attention + mlp) + head;
}

}  // namespace vitsweep::engine
