// The model's parameters as one flat float buffer with named views, in timm's names and PyTorch
// layouts (so checkpoints load in PyTorch/timm). The same layout binds the gradients and the
// optimizer's moments: one visitor over TensorInfo drives init, the optimizer and checkpoints.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/model_shape.hpp"

namespace vitsweep::engine {

struct TensorInfo {
  std::string name;            // "blocks.0.attn.qkv.weight"
  std::vector<int64_t> shape;  // PyTorch layout, e.g. [3D, D]
  int64_t offset = 0;          // in floats, into the flat buffer
  int64_t size = 0;            // elements
  bool decay = false;          // a weight matrix: weight decay applies
};

class ParameterLayout {
 public:
  explicit ParameterLayout(const ModelShape& shape);

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  int64_t total() const { return total_; }
  // nullptr when the model has no such tensor.
  const TensorInfo* find(const std::string& name) const;

 private:
  void add(std::string name, std::vector<int64_t> shape, bool decay);
  std::vector<TensorInfo> tensors_;
  int64_t total_ = 0;
};

// Pointers to one block's tensors inside a flat buffer (parameters, gradients or moments).
// Optional tensors (qk-norm, gate) are nullptr when the model has none.
struct BlockTensors {
  float *norm1_weight, *norm1_bias;
  float *qkv_weight, *qkv_bias;
  float *q_norm_weight, *q_norm_bias, *k_norm_weight, *k_norm_bias;
  float *gate_weight, *gate_bias;
  float *proj_weight, *proj_bias;
  float *norm2_weight, *norm2_bias;
  float *fc1_weight, *fc1_bias, *fc2_weight, *fc2_bias;
};

struct ModelTensors {
  float *patch_weight, *patch_bias;
  float* pos_embed;  // nullptr with fixed sin-cos position embeddings
  float* cls_token;  // nullptr without a class token
  std::vector<BlockTensors> blocks;
  float *norm_weight, *norm_bias;
  float *head_weight, *head_bias;
};

ModelTensors bind(const ParameterLayout& layout, float* base);

// The training initialisation (method.md): xavier-uniform weight matrices (q, k, v initialised as
// three D x D matrices), zero biases, LayerNorm scale 1, learned position embedding N(0, 0.02),
// class token 0, head kernel 0. Deterministic from the seed.
void initialize_parameters(const ParameterLayout& layout, float* values, uint64_t seed);

// Fixed 2-D sin-cos position embedding [grid_h * grid_w, width] (big_vision posemb_sincos_2d).
std::vector<float> sincos_2d_position_embedding(int64_t grid_h, int64_t grid_w, int64_t width);

}  // namespace vitsweep::engine
