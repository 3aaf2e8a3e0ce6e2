// The parameter table: every tensor has a unique timm name, and bind() points exactly one field
// of ModelTensors at each tensor (no field left null for a tensor the model has, none pointing at
// a tensor it lacks), each block is one range of the buffer, for every combination of the
// optional parts.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <initializer_list>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "engine/parameters.hpp"
#include "model_fixture.hpp"

namespace vitsweep::engine {
namespace {

struct Variant {
  std::string name;
  OrderedJson overrides;
};

std::vector<Variant> variants() {
  std::vector<Variant> out;
  for (const char* pool : {"gap", "cls"}) {
    for (const char* posemb : {"learned", "sincos2d"}) {
      for (bool qk_norm : {false, true}) {
        for (const char* gate : {"none", "silu"}) {
          out.push_back(
              {fmt::format("{}_{}{}{}", pool, posemb, qk_norm ? "_qknorm" : "",
                           std::string(gate) == "none" ? "" : "_gate"),
               {{"pool", pool}, {"posemb", posemb}, {"qk_norm", qk_norm}, {"gate", gate}}});
        }
      }
    }
  }
  // No attention branch: qk_norm and gate asked for, and nothing of either made.
  out.push_back({"no_attention", {{"attn", "none"}, {"qk_norm", true}, {"gate", "silu"}}});
  out.push_back({"no_attention_sincos2d", {{"attn", "none"}, {"posemb", "sincos2d"}}});
  return out;
}

// Every pointer field of ModelTensors, listed here by hand (not from the table), with the
// name of the tensor it must point at; "" for a tensor the model lacks (the field must be null).
std::vector<std::pair<std::string, const float*>> fields(const ModelTensors& m,
                                                         const ModelShape& s) {
  auto present = [](bool yes, const std::string& name) { return yes ? name : std::string(); };
  std::vector<std::pair<std::string, const float*>> out = {
      {"patch_embed.proj.weight", m.patch_weight},
      {"patch_embed.proj.bias", m.patch_bias},
      {present(s.learned_posemb, "pos_embed"), m.pos_embed},
      {present(s.cls_token, "cls_token"), m.cls_token},
      {"norm.weight", m.norm_weight},
      {"norm.bias", m.norm_bias},
      {"head.weight", m.head_weight},
      {"head.bias", m.head_bias},
  };
  for (size_t i = 0; i < m.blocks.size(); ++i) {
    const BlockTensors& b = m.blocks[i];
    const std::string p = fmt::format("blocks.{}.", i);
    const std::vector<std::pair<std::string, const float*>> block = {
        {present(s.attention_branch, p + "norm1.weight"), b.norm1_weight},
        {present(s.attention_branch, p + "norm1.bias"), b.norm1_bias},
        {present(s.attention_branch, p + "attn.qkv.weight"), b.qkv_weight},
        {present(s.attention_branch, p + "attn.qkv.bias"), b.qkv_bias},
        {present(s.qk_norm, p + "attn.q_norm.weight"), b.q_norm_weight},
        {present(s.qk_norm, p + "attn.q_norm.bias"), b.q_norm_bias},
        {present(s.qk_norm, p + "attn.k_norm.weight"), b.k_norm_weight},
        {present(s.qk_norm, p + "attn.k_norm.bias"), b.k_norm_bias},
        {present(s.gated, p + "attn.gate.weight"), b.gate_weight},
        {present(s.gated, p + "attn.gate.bias"), b.gate_bias},
        {present(s.attention_branch, p + "attn.proj.weight"), b.proj_weight},
        {present(s.attention_branch, p + "attn.proj.bias"), b.proj_bias},
        {p + "norm2.weight", b.norm2_weight},
        {p + "norm2.bias", b.norm2_bias},
        {p + "mlp.fc1.weight", b.fc1_weight},
        {p + "mlp.fc1.bias", b.fc1_bias},
        {p + "mlp.fc2.weight", b.fc2_weight},
        {p + "mlp.fc2.bias", b.fc2_bias},
    };
    out.insert(out.end(), block.begin(), block.end());
  }
  return out;
}

void PrintTo(const Variant& v, std::ostream* os) { *os << v.name; }

class ParameterTable : public ::testing::TestWithParam<Variant> {};

TEST_P(ParameterTable, NamesAreUniqueAndEveryTensorIsBoundOnce) {
  const ModelShape shape = ModelShape::from_config(testing::tiny_config(GetParam().overrides));
  const ParameterLayout layout(shape);
  std::vector<float> values(static_cast<size_t>(layout.total()));
  const ModelTensors bound = bind(layout, values.data());

  std::map<std::string, const TensorInfo*> by_name;
  for (const TensorInfo& t : layout.tensors()) {
    EXPECT_TRUE(by_name.emplace(t.name, &t).second) << "duplicate tensor name " << t.name;
    EXPECT_EQ(layout.find(t.name), &t) << t.name;
  }
  std::set<std::string> reached;
  for (const auto& [name, pointer] : fields(bound, shape)) {
    if (name.empty()) {
      EXPECT_EQ(pointer, nullptr) << "a field points at a tensor this model does not have";
      continue;
    }
    const auto found = by_name.find(name);
    ASSERT_NE(found, by_name.end()) << "the layout has no tensor " << name;
    EXPECT_NE(pointer, nullptr) << "the field for " << name << " is null";
    EXPECT_EQ(pointer, values.data() + found->second->offset) << name << " is bound elsewhere";
    EXPECT_TRUE(reached.insert(name).second) << name << " is bound twice";
  }
  for (const TensorInfo& t : layout.tensors()) {
    EXPECT_TRUE(reached.contains(t.name))
        << t.name << " is in the layout but no field points at it";
  }
  // Tensors do not overlap and stay inside the buffer.
  int64_t end = 0;
  for (const TensorInfo& t : layout.tensors()) {
    EXPECT_GE(t.offset, end) << t.name;
    end = t.offset + t.size;
  }
  EXPECT_LE(end, layout.total());
}

// A data-parallel backward sums each block's gradients as soon as that block is done, as one
// range of the buffer: block i's tensors, and only they, lie in [block_start(i),
// block_start(i + 1)); the tensors before and after the blocks lie outside every block's range.
TEST_P(ParameterTable, EachBlockIsOneRangeOfTheBuffer) {
  const ModelShape shape = ModelShape::from_config(testing::tiny_config(GetParam().overrides));
  const ParameterLayout layout(shape);
  ASSERT_EQ(layout.depth(), 2);
  EXPECT_GT(layout.block_start(0), 0);
  EXPECT_LT(layout.block_start(1), layout.block_start(2));
  EXPECT_LT(layout.block_start(2), layout.total());
  for (const TensorInfo& t : layout.tensors()) {
    const bool before = t.offset + t.size <= layout.block_start(0);
    const bool after = t.offset >= layout.block_start(layout.depth());
    if (t.block < 0) {
      EXPECT_TRUE(before || after) << t.name << " lies among the blocks";
      continue;
    }
    EXPECT_TRUE(t.name.starts_with(fmt::format("blocks.{}.", t.block))) << t.name;
    EXPECT_GE(t.offset, layout.block_start(t.block)) << t.name;
    EXPECT_LE(t.offset + t.size, layout.block_start(t.block + 1)) << t.name;
  }
}

bool ends_with_any(const std::string& name, std::initializer_list<const char*> suffixes) {
  for (const char* suffix : suffixes) {
    if (name.ends_with(suffix)) return true;
  }
  return false;
}

// The rules of method.md, stated from the names: decay on weight matrices only; zero biases and
// head kernel; class token N(0, 1e-6) (timm; never exactly 0); LayerNorm scales 1; position
// embedding N(0, 0.02); every other matrix xavier-uniform (q, k, v as three D x D matrices).
TEST_P(ParameterTable, DecayAndInitialisationFollowTheTensorKind) {
  const ModelShape shape = ModelShape::from_config(testing::tiny_config(GetParam().overrides));
  const ParameterLayout layout(shape);
  std::vector<float> values(static_cast<size_t>(layout.total()));
  initialize_parameters(layout, values.data(), 3);
  for (const TensorInfo& t : layout.tensors()) {
    SCOPED_TRACE(t.name);
    const bool matrix = t.shape.size() >= 2 && t.name.ends_with(".weight");
    EXPECT_EQ(t.decay, matrix);
    const std::vector<float> v(values.begin() + t.offset, values.begin() + t.offset + t.size);
    double squares = 0, largest = 0;
    for (float x : v) {
      squares += static_cast<double>(x) * x;
      largest = std::max(largest, static_cast<double>(std::abs(x)));
    }
    if (ends_with_any(t.name, {".bias", "head.weight"})) {
      EXPECT_EQ(largest, 0.0);
    } else if (t.name == "cls_token") {
      EXPECT_GT(largest, 0.0);
      EXPECT_LT(largest, 1e-5);
    } else if (ends_with_any(t.name, {"norm1.weight", "norm2.weight", "norm.weight"})) {
      EXPECT_EQ(v, std::vector<float>(v.size(), 1.0f));
    } else if (t.name == "pos_embed") {
      EXPECT_NEAR(std::sqrt(squares / t.size), 0.02, 0.004);
    } else {
      ASSERT_TRUE(matrix);
      const int64_t fan_in = t.size / t.shape[0];
      const int64_t fan_out = t.name.ends_with("qkv.weight") ? t.shape[0] / 3 : t.shape[0];
      const double bound = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
      EXPECT_LE(largest, bound);
      // U(-b, b) has standard deviation b / sqrt(3).
      EXPECT_NEAR(std::sqrt(squares / t.size), bound / std::sqrt(3.0), 0.15 * bound);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryOptionalPart, ParameterTable, ::testing::ValuesIn(variants()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace vitsweep::engine
