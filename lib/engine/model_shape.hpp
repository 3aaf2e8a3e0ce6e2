// Every size and switch of a ViT, derived once from a TrialConfig.
#pragma once

#include <cstdint>

#include "config/trial_config.hpp"
#include "engine/activations.hpp"
#include "engine/attention_weights.hpp"

namespace vitsweep::engine {

struct ModelShape {
  int64_t channels = 0, image_height = 0, image_width = 0, classes = 0;
  int64_t patch = 0, grid_h = 0, grid_w = 0;
  int64_t patches = 0;    // grid_h * grid_w
  int64_t tokens = 0;     // patches (+1 with a class token): the L of L^-alpha
  int64_t patch_dim = 0;  // channels * patch * patch
  int64_t width = 0, depth = 0, heads = 0, head_dim = 0, mlp_dim = 0;
  bool cls_token = false;
  bool learned_posemb = true;
  // false for attn = "none": every block is LayerNorm + MLP only, so tokens never mix (the
  // baseline for how much a task needs attention); qk_norm and gated are then false too.
  bool attention_branch = true;
  bool qk_norm = false;
  bool gated = false;
  Activation gate_activation = Activation::silu;
  AttentionFunction attention;
  double alpha = 1.0;
  int64_t scale_length = 0;  // the L of L^-alpha when > 0 (config key scale_length)
  // attn_kernel: the fused tile kernel (no N x N matrix stored) or oneDNN matmuls over stored
  // scores and weights (attention.hpp). Same maths, different rounding.
  bool fused_attention = false;

  static ModelShape from_config(const TrialConfig& config);

  // L^-alpha for the point-wise family (L = scale_length, or the number of keys), 1 for softmax.
  float length_scale() const;
  // Multiply-accumulates x 2 of one image's forward pass (matmuls only).
  double forward_flops_per_image() const;
  // Training: forward + backward, counted as 3x the forward (the usual convention).
  double training_flops_per_image() const { return 3.0 * forward_flops_per_image(); }
};

}  // namespace vitsweep::engine
