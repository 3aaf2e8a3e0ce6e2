// The model's parameters as one flat float buffer with named views, in timm's names and PyTorch
// layouts (so checkpoints load in PyTorch/timm). One table in parameters.cpp lists every tensor
// once (name, shape, initialisation, weight decay, the field that points at it), and everything
// else derives from it: the layout's order and offsets, the checkpoint names, the optimizer's decay
// mask, the initialisation, bind() and the blocks' ranges (which a data-parallel backward sums
// block by block). The same layout binds the gradients and the optimizer's moments.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/model_shape.hpp"

namespace vitsweep::engine {

// How a tensor starts training (method.md).
enum class Init {
  zeros,
  ones,
  normal_0_02,  // N(0, 0.02^2): the learned position embedding
  // N(0, 1e-12), as timm: the class token. At exactly 0 it is a fixed point under point-wise
  // attention with h(0) = 0 (relu, relu6, ...): its LayerNorm, query, attention, MLP and head
  // input all stay 0 and the zero head kernel gets no gradient, so the model never trains.
  normal_1e_6,
  xavier_uniform,  // U(-b, b), b = sqrt(6 / (fan_in + fan_out)); a conv kernel's fan_in is C*p*p
  // xavier_uniform with fan_out = rows / 3: q, k and v as three square matrices, as in
  // big_vision's separate kernels and timm's special case.
  xavier_uniform_qkv,
};

struct TensorInfo {
  std::string name;            // "blocks.0.attn.qkv.weight"
  std::vector<int64_t> shape;  // PyTorch layout, e.g. [3D, D]
  int64_t offset = 0;          // in floats, into the flat buffer
  int64_t size = 0;            // elements
  bool decay = false;          // a weight matrix: weight decay applies
  Init init = Init::zeros;
  int64_t block = -1;  // the block it belongs to; -1 outside the blocks
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

class ParameterLayout {
 public:
  explicit ParameterLayout(const ModelShape& shape);

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  int64_t total() const { return total_; }
  int64_t depth() const { return depth_; }
  // nullptr when the model has no such tensor.
  const TensorInfo* find(const std::string& name) const;
  // Where block i's tensors begin, in floats: the layout is the tensors before the blocks, each
  // block's together, then the tensors after them, so block i spans [block_start(i),
  // block_start(i + 1)) and block_start(depth()) is where the tensors after the blocks begin.
  int64_t block_start(int64_t block) const { return block_starts_[static_cast<size_t>(block)]; }

 private:
  friend ModelTensors bind(const ParameterLayout& layout, float* base);
  // Where bind() points tensor i: a field of ModelTensors, or of its block's BlockTensors.
  struct Field {
    float* ModelTensors::*model = nullptr;
    float* BlockTensors::*block = nullptr;
  };
  std::vector<TensorInfo> tensors_;
  std::vector<Field> fields_;
  std::vector<int64_t> block_starts_;  // depth + 1 offsets
  int64_t total_ = 0;
  int64_t depth_ = 0;
};

// Views of every tensor of `layout` inside `base` (a buffer of layout.total() floats).
ModelTensors bind(const ParameterLayout& layout, float* base);

// The training initialisation: each tensor by its Init rule, deterministic from the seed (each
// tensor draws from its own stream, keyed by its name).
void initialize_parameters(const ParameterLayout& layout, float* values, uint64_t seed);

// Fixed 2-D sin-cos position embedding [grid_h * grid_w, width] (big_vision posemb_sincos_2d).
std::vector<float> sincos_2d_position_embedding(int64_t grid_h, int64_t grid_w, int64_t width);

}  // namespace vitsweep::engine
