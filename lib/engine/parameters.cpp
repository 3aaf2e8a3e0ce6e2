#include "engine/parameters.hpp"

#include <fmt/format.h>

#include <cmath>

#include "common/error.hpp"
#include "common/random.hpp"

namespace vitsweep::engine {

namespace {
// Each tensor starts on a 64-byte boundary, so vector loads in kernels stay aligned.
constexpr int64_t kAlignFloats = 16;
}  // namespace

ParameterLayout::ParameterLayout(const ModelShape& s) {
  const int64_t d = s.width;
  if (s.cls_token) add("cls_token", {1, 1, d}, false);
  if (s.learned_posemb) add("pos_embed", {1, s.patches, d}, false);
  add("patch_embed.proj.weight", {d, s.channels, s.patch, s.patch}, true);
  add("patch_embed.proj.bias", {d}, false);
  for (int64_t i = 0; i < s.depth; ++i) {
    const std::string block = fmt::format("blocks.{}.", i);
    add(block + "norm1.weight", {d}, false);
    add(block + "norm1.bias", {d}, false);
    add(block + "attn.qkv.weight", {3 * d, d}, true);
    add(block + "attn.qkv.bias", {3 * d}, false);
    if (s.qk_norm) {
      add(block + "attn.q_norm.weight", {s.head_dim}, false);
      add(block + "attn.q_norm.bias", {s.head_dim}, false);
      add(block + "attn.k_norm.weight", {s.head_dim}, false);
      add(block + "attn.k_norm.bias", {s.head_dim}, false);
    }
    if (s.gated) {
      add(block + "attn.gate.weight", {d, d}, true);
      add(block + "attn.gate.bias", {d}, false);
    }
    add(block + "attn.proj.weight", {d, d}, true);
    add(block + "attn.proj.bias", {d}, false);
    add(block + "norm2.weight", {d}, false);
    add(block + "norm2.bias", {d}, false);
    add(block + "mlp.fc1.weight", {s.mlp_dim, d}, true);
    add(block + "mlp.fc1.bias", {s.mlp_dim}, false);
    add(block + "mlp.fc2.weight", {d, s.mlp_dim}, true);
    add(block + "mlp.fc2.bias", {d}, false);
  }
  add("norm.weight", {d}, false);
  add("norm.bias", {d}, false);
  add("head.weight", {s.classes, d}, true);
  add("head.bias", {s.classes}, false);
}

void ParameterLayout::add(std::string name, std::vector<int64_t> shape, bool decay) {
  TensorInfo info;
  info.name = std::move(name);
  info.size = 1;
  for (int64_t dim : shape) info.size *= dim;
  info.shape = std::move(shape);
  info.offset = total_;
  info.decay = decay;
  total_ += (info.size + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
  tensors_.push_back(std::move(info));
}

const TensorInfo* ParameterLayout::find(const std::string& name) const {
  for (const auto& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

ModelTensors bind(const ParameterLayout& layout, float* base) {
  auto at = [&](const std::string& name) -> float* {
    const TensorInfo* t = layout.find(name);
    return t ? base + t->offset : nullptr;
  };
  ModelTensors m{};
  m.patch_weight = at("patch_embed.proj.weight");
  m.patch_bias = at("patch_embed.proj.bias");
  m.pos_embed = at("pos_embed");
  m.cls_token = at("cls_token");
  for (int64_t i = 0;; ++i) {
    const std::string block = fmt::format("blocks.{}.", i);
    if (layout.find(block + "norm1.weight") == nullptr) break;
    BlockTensors b{};
    b.norm1_weight = at(block + "norm1.weight");
    b.norm1_bias = at(block + "norm1.bias");
    b.qkv_weight = at(block + "attn.qkv.weight");
    b.qkv_bias = at(block + "attn.qkv.bias");
    b.q_norm_weight = at(block + "attn.q_norm.weight");
    b.q_norm_bias = at(block + "attn.q_norm.bias");
    b.k_norm_weight = at(block + "attn.k_norm.weight");
    b.k_norm_bias = at(block + "attn.k_norm.bias");
    b.gate_weight = at(block + "attn.gate.weight");
    b.gate_bias = at(block + "attn.gate.bias");
    b.proj_weight = at(block + "attn.proj.weight");
    b.proj_bias = at(block + "attn.proj.bias");
    b.norm2_weight = at(block + "norm2.weight");
    b.norm2_bias = at(block + "norm2.bias");
    b.fc1_weight = at(block + "mlp.fc1.weight");
    b.fc1_bias = at(block + "mlp.fc1.bias");
    b.fc2_weight = at(block + "mlp.fc2.weight");
    b.fc2_bias = at(block + "mlp.fc2.bias");
    m.blocks.push_back(b);
  }
  m.norm_weight = at("norm.weight");
  m.norm_bias = at("norm.bias");
  m.head_weight = at("head.weight");
  m.head_bias = at("head.bias");
  return m;
}

void initialize_parameters(const ParameterLayout& layout, float* values, uint64_t seed) {
  std::fill(values, values + layout.total(), 0.0f);
  for (const TensorInfo& t : layout.tensors()) {
    float* p = values + t.offset;
    Random random(hash_words(seed, fnv1a(t.name)));
    auto ends_with = [&](std::string_view suffix) {
      return t.name.size() >= suffix.size() &&
             t.name.compare(t.name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (t.name == "pos_embed") {
      for (int64_t i = 0; i < t.size; ++i) p[i] = static_cast<float>(0.02 * random.normal());
    } else if (t.name == "head.weight" || t.name == "cls_token" || ends_with(".bias")) {
      // zero (big_vision: zero-initialised head kernel and class token)
    } else if (ends_with("norm1.weight") || ends_with("norm2.weight") || ends_with("norm.weight")) {
      std::fill(p, p + t.size, 1.0f);
    } else if (t.decay) {
      // fan_out = rows; fan_in = the rest (a conv kernel [D, C, p, p] counts C*p*p). qkv is three
      // square matrices, as in big_vision's separate q, k, v kernels and timm's special case.
      int64_t rows = t.shape[0];
      if (ends_with("attn.qkv.weight")) rows /= 3;
      const int64_t fan_in = t.size / t.shape[0];
      const double bound = std::sqrt(6.0 / static_cast<double>(fan_in + rows));
      for (int64_t i = 0; i < t.size; ++i) {
        p[i] = static_cast<float>((2.0 * random.uniform() - 1.0) * bound);
      }
    } else {
      fail("internal: no initialiser for parameter '{}'", t.name);
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
