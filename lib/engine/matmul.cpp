#include "engine/matmul.hpp"

#include <fmt/format.h>

#include <cstring>

#include "common/error.hpp"

namespace vitsweep::engine {

using dnnl::memory;

View View::t() const {
  View v = *this;
  std::swap(v.dims[rank - 2], v.dims[rank - 1]);
  std::swap(v.strides[rank - 2], v.strides[rank - 1]);
  return v;
}

View matrix(float* data, int64_t rows, int64_t cols) {
  return View{data, 2, {rows, cols, 0, 0}, {cols, 1, 0, 0}};
}

View heads(float* data, int64_t batch, int64_t tokens, int64_t num_heads, int64_t head_dim) {
  const int64_t width = num_heads * head_dim;
  return View{data, 4, {batch, num_heads, tokens, head_dim}, {tokens * width, head_dim, width, 1}};
}

View batched(float* data, int64_t batch, int64_t num_heads, int64_t rows, int64_t cols) {
  return View{data, 4, {batch, num_heads, rows, cols}, {num_heads * rows * cols, rows * cols, cols, 1}};
}

namespace {

memory::desc describe(const View& v) {
  memory::dims dims(v.dims.begin(), v.dims.begin() + v.rank);
  memory::dims strides(v.strides.begin(), v.strides.begin() + v.rank);
  return memory::desc(dims, memory::data_type::f32, strides);
}

void append_view(std::vector<int64_t>& key, const View& v) {
  key.push_back(v.rank);
  for (int i = 0; i < v.rank; ++i) {
    key.push_back(v.dims[i]);
    key.push_back(v.strides[i]);
  }
}

std::string shape_text(const View& v) {
  std::string dims, strides;
  for (int i = 0; i < v.rank; ++i) {
    dims += fmt::format("{}{}", i ? "x" : "", v.dims[i]);
    strides += fmt::format("{}{}", i ? "," : "", v.strides[i]);
  }
  return fmt::format("{}:{}", dims, strides);
}

}  // namespace

struct MatmulRunner::Entry {
  dnnl::matmul primitive;
  memory::desc a, b, c, bias;
  std::string shape;
  std::string implementation;
};

MatmulRunner::MatmulRunner() : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}
MatmulRunner::~MatmulRunner() = default;

MatmulRunner::Entry& MatmulRunner::lookup(const View& c, const View& a, const View& b,
                                          const MatmulOptions& options) {
  std::vector<int64_t> key;
  key.reserve(40);
  append_view(key, a);
  append_view(key, b);
  append_view(key, c);
  int32_t scale_bits = 0;
  std::memcpy(&scale_bits, &options.scale, sizeof scale_bits);
  key.push_back(scale_bits);
  key.push_back(options.bias != nullptr);
  key.push_back(options.accumulate);
  auto found = cache_.find(key);
  if (found != cache_.end()) return *found->second;

  if (a.rank != b.rank || a.rank != c.rank || a.cols() != b.rows() || c.rows() != a.rows() ||
      c.cols() != b.cols()) {
    fail("internal: matmul shapes disagree: A {} B {} C {}", shape_text(a), shape_text(b),
         shape_text(c));
  }
  auto entry = std::make_unique<Entry>();
  entry->a = describe(a);
  entry->b = describe(b);
  entry->c = describe(c);
  dnnl::primitive_attr attr;
  if (options.scale != 1.0f) attr.set_output_scales(0, {options.scale});
  if (options.accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  dnnl::matmul::desc desc = [&] {
    if (options.bias == nullptr) return dnnl::matmul::desc(entry->a, entry->b, entry->c);
    memory::dims bias_dims(c.rank, 1);
    bias_dims.back() = c.cols();
    entry->bias = memory::desc(bias_dims, memory::data_type::f32,
                               c.rank == 2 ? memory::format_tag::ab : memory::format_tag::abcd);
    return dnnl::matmul::desc(entry->a, entry->b, entry->bias, entry->c);
  }();
  dnnl::matmul::primitive_desc pd(desc, attr, engine_);
  entry->primitive = dnnl::matmul(pd);
  entry->implementation = pd.impl_info_str();
  entry->shape = fmt::format("A {} B {} C {}{}{}{}", shape_text(a), shape_text(b), shape_text(c),
                             options.bias ? " +bias" : "",
                             options.scale != 1.0f ? fmt::format(" *{}", options.scale) : "",
                             options.accumulate ? " +=" : "");
  return *cache_.emplace(std::move(key), std::move(entry)).first->second;
}

void MatmulRunner::run(const View& c, const View& a, const View& b, const MatmulOptions& options) {
  Entry& entry = lookup(c, a, b, options);
  memory a_mem(entry.a, engine_, a.data);
  memory b_mem(entry.b, engine_, b.data);
  memory c_mem(entry.c, engine_, c.data);
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, b_mem}, {DNNL_ARG_DST, c_mem}};
  if (options.bias != nullptr) {
    args.emplace(DNNL_ARG_BIAS, memory(entry.bias, engine_, const_cast<float*>(options.bias)));
  }
  entry.primitive.execute(stream_, args);
  stream_.wait();
}

std::vector<std::pair<std::string, std::string>> MatmulRunner::implementations() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, entry] : cache_) out.emplace_back(entry->shape, entry->implementation);
  return out;
}

}  // namespace vitsweep::engine
