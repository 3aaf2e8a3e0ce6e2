#include "engine/parameters.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/random.hpp"

namespace vitsweep::engine {

namespace {

// Each tensor starts on a 64-byte boundary, so vector loads in kernels stay aligned.
constexpr int64_t kAlignFloats = 16;

using Shape = std::vector<int64_t>;

// When a tensor exists.
enum class Presence { always, cls_token, learned_posemb, attention_branch, qk_norm, gated };

bool present(Presence presence, const ModelShape& s) {
  switch (presence) {
    case Presence::always: return true;
    case Presence::cls_token: return s.cls_token;
    case Presence::learned_posemb: return s.learned_posemb;
    case Presence::attention_branch: return s.attention_branch;
    case Presence::qk_norm: return s.qk_norm;
    case Presence::gated: return s.gated;
  }
  return false;
}

// One row of the table: a tensor of the model (Tensors = ModelTensors) or of every block
// (Tensors = BlockTensors, the name without its "blocks.<i>." prefix).
template <typename Tensors>
struct ParameterSpec {
  const char* name;  // timm's
  float* Tensors::*field;
  Shape (*shape)(const ModelShape&);
  Init init;
  bool decay;
  Presence presence = Presence::always;
};

using ModelSpec = ParameterSpec<ModelTensors>;
using BlockSpec = ParameterSpec<BlockTensors>;

Shape width(const ModelShape& s) { return {s.width}; }
Shape head_dim(const ModelShape& s) { return {s.head_dim}; }
Shape square(const ModelShape& s) { return {s.width, s.width}; }

// The table, in layout order (timm's order of the state dict): the tensors before the blocks,
// every block's, then the tensors after them.
const ModelSpec kBeforeBlocks[] = {
    {"cls_token", &ModelTensors::cls_token,
     [](const ModelShape& s) -> Shape {
       return {1, 1, s.width};
     },
     Init::normal_1e_6, false, Presence::cls_token},
    {"pos_embed", &ModelTensors::pos_embed,
     [](const ModelShape& s) -> Shape {
       return {1, s.patches, s.width};
     },
     Init::normal_0_02, false, Presence::learned_posemb},
    {"patch_embed.proj.weight", &ModelTensors::patch_weight,
     [](const ModelShape& s) -> Shape {
       return {s.width, s.channels, s.patch, s.patch};
     },
     Init::xavier_uniform, true},
    {"patch_embed.proj.bias", &ModelTensors::patch_bias, width, Init::zeros, false},
};

const BlockSpec kBlock[] = {
    {"norm1.weight", &BlockTensors::norm1_weight, width, Init::ones, false,
     Presence::attention_branch},
    {"norm1.bias", &BlockTensors::norm1_bias, width, Init::zeros, false,
     Presence::attention_branch},
    {"attn.qkv.weight", &BlockTensors::qkv_weight,
     [](const ModelShape& s) -> Shape {
       return {3 * s.width, s.width};
     },
     Init::xavier_uniform_qkv, true, Presence::attention_branch},
    {"attn.qkv.bias", &BlockTensors::qkv_bias,
     [](const ModelShape& s) -> Shape { return {3 * s.width}; }, Init::zeros, false,
     Presence::attention_branch},
    {"attn.q_norm.weight", &BlockTensors::q_norm_weight, head_dim, Init::ones, false,
     Presence::qk_norm},
    {"attn.q_norm.bias", &BlockTensors::q_norm_bias, head_dim, Init::zeros, false,
     Presence::qk_norm},
    {"attn.k_norm.weight", &BlockTensors::k_norm_weight, head_dim, Init::ones, false,
     Presence::qk_norm},
    {"attn.k_norm.bias", &BlockTensors::k_norm_bias, head_dim, Init::zeros, false,
     Presence::qk_norm},
    {"attn.gate.weight", &BlockTensors::gate_weight, square, Init::xavier_uniform, true,
     Presence::gated},
    {"attn.gate.bias", &BlockTensors::gate_bias, width, Init::zeros, false, Presence::gated},
    {"attn.proj.weight", &BlockTensors::proj_weight, square, Init::xavier_uniform, true,
     Presence::attention_branch},
    {"attn.proj.bias", &BlockTensors::proj_bias, width, Init::zeros, false,
     Presence::attention_branch},
    {"norm2.weight", &BlockTensors::norm2_weight, width, Init::ones, false},
    {"norm2.bias", &BlockTensors::norm2_bias, width, Init::zeros, false},
    {"mlp.fc1.weight", &BlockTensors::fc1_weight,
     [](const ModelShape& s) -> Shape {
       return {s.mlp_dim, s.width};
     },
     Init::xavier_uniform, true},
    {"mlp.fc1.bias", &BlockTensors::fc1_bias,
     [](const ModelShape& s) -> Shape { return {s.mlp_dim}; }, Init::zeros, false},
    {"mlp.fc2.weight", &BlockTensors::fc2_weight,
     [](const ModelShape& s) -> Shape {
       return {s.width, s.mlp_dim};
     },
     Init::xavier_uniform, true},
    {"mlp.fc2.bias", &BlockTensors::fc2_bias, width, Init::zeros, false},
};

const ModelSpec kAfterBlocks[] = {
    {"norm.weight", &ModelTensors::norm_weight, width, Init::ones, false},
    {"norm.bias", &ModelTensors::norm_bias, width, Init::zeros, false},
    // Zero head kernel, as big_vision.
    {"head.weight", &ModelTensors::head_weight,
     [](const ModelShape& s) -> Shape {
       return {s.classes, s.width};
     },
     Init::zeros, true},
    {"head.bias", &ModelTensors::head_bias,
     [](const ModelShape& s) -> Shape { return {s.classes}; }, Init::zeros, false},
};

int64_t elements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t dim : shape) n *= dim;
  return n;
}

void fill_xavier_uniform(const TensorInfo& t, int64_t fan_out, Random& random, float* p) {
  // fan_in: everything but the rows (a conv kernel [D, C, p, p] counts C*p*p).
  const int64_t fan_in = t.size / t.shape[0];
  const double bound = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  for (int64_t i = 0; i < t.size; ++i) {
    p[i] = static_cast<float>((2.0 * random.uniform() - 1.0) * bound);
  }
}

void fill_normal(const TensorInfo& t, double std, Random& random, float* p) {
  for (int64_t i = 0; i < t.size; ++i) p[i] = static_cast<float>(std * random.normal());
}

}  // namespace

ParameterLayout::ParameterLayout(const ModelShape& s) : depth_(s.depth) {
  auto add = [&](const auto& spec, std::string name, int64_t block, Field field) {
    if (!present(spec.presence, s)) return;
    TensorInfo info;
    info.name = std::move(name);
    info.shape = spec.shape(s);
    info.size = elements(info.shape);
    info.offset = total_;
    info.decay = spec.decay;
    info.init = spec.init;
    info.block = block;
    total_ += (info.size + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
    tensors_.push_back(std::move(info));
    fields_.push_back(field);
  };
  for (const ModelSpec& spec : kBeforeBlocks) add(spec, spec.name, -1, {.model = spec.field});
  for (int64_t i = 0; i < s.depth; ++i) {
    block_starts_.push_back(total_);
    for (const BlockSpec& spec : kBlock) {
      add(spec, fmt::format("blocks.{}.{}", i, spec.name), i, {.block = spec.field});
    }
  }
  block_starts_.push_back(total_);
  for (const ModelSpec& spec : kAfterBlocks) add(spec, spec.name, -1, {.model = spec.field});
}

const TensorInfo* ParameterLayout::find(const std::string& name) const {
  for (const auto& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

ModelTensors bind(const ParameterLayout& layout, float* base) {
  ModelTensors m{};
  m.blocks.assign(static_cast<size_t>(layout.depth()), BlockTensors{});
  for (size_t i = 0; i < layout.tensors_.size(); ++i) {
    const TensorInfo& t = layout.tensors_[i];
    const ParameterLayout::Field& field = layout.fields_[i];
    if (t.block < 0) {
      m.*field.model = base + t.offset;
    } else {
      m.blocks[t.block].*field.block = base + t.offset;
    }
  }
  return m;
}

void initialize_parameters(const ParameterLayout& layout, float* values, uint64_t seed) {
  std::fill(values, values + layout.total(), 0.0f);
  for (const TensorInfo& t : layout.tensors()) {
    float* p = values + t.offset;
    Random random(hash_words(seed, fnv1a(t.name)));
    switch (t.init) {
      case Init::zeros: break;
      case Init::ones: std::fill(p, p + t.size, 1.0f); break;
      case Init::normal_0_02: fill_normal(t, 0.02, random, p); break;
      case Init::normal_1e_6: fill_normal(t, 1e-6, random, p); break;
      case Init::xavier_uniform: fill_xavier_uniform(t, t.shape[0], random, p); break;
      case Init::xavier_uniform_qkv: fill_xavier_uniform(t, t.shape[0] / 3, random, p); break;
    }
  }
}

std::vector<float> sincos_2d_position_embedding(int64_t grid_h, int64_t grid_w, int64_t width) {
  const int64_t quarter = width / 4;
  std::vector<double> omega(static_cast<size_t>(quarter));
  for (int64_t i = 0; i < quarter; ++i) {
    const double fraction = quarter > 1 ? static_cast<double>(i) / (quarter - 1) : 0.0;
    omega[i] = 1.0 / std::pow(10000.0, fraction);
  }
  std::vector<float> table(static_cast<size_t>(grid_h * grid_w * width), 0.0f);
  for (int64_t y = 0; y < grid_h; ++y) {
    for (int64_t x = 0; x < grid_w; ++x) {
      float* row = table.data() + (y * grid_w + x) * width;
      for (int64_t i = 0; i < quarter; ++i) {
        row[i] = static_cast<float>(std::sin(x * omega[i]));
        row[quarter + i] = static_cast<float>(std::cos(x * omega[i]));
        row[2 * quarter + i] = static_cast<float>(std::sin(y * omega[i]));
        row[3 * quarter + i] = static_cast<float>(std::cos(y * omega[i]));
      }
    }
  }
  return table;
}

}  // namespace vitsweep::engine
