#include "engine/matmul.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "common/error.hpp"

namespace vitsweep::engine {

using dnnl::memory;

namespace {

memory::desc describe(const ConstView& v) {
  memory::dims dims(v.dims.begin(), v.dims.begin() + v.rank);
  memory::dims strides(v.strides.begin(), v.strides.begin() + v.rank);
  return memory::desc(dims, memory::data_type::f32, strides);
}

// The view's shape as a dense row-major bf16 tensor.
memory::desc describe_plain_bf16(const ConstView& v) {
  memory::dims dims(v.dims.begin(), v.dims.begin() + v.rank);
  return memory::desc(dims, memory::data_type::bf16,
                      v.rank == 2 ? memory::format_tag::ab : memory::format_tag::abcd);
}

int64_t elements(const ConstView& v) {
  int64_t n = 1;
  for (int i = 0; i < v.rank; ++i) n *= v.dims[i];
  return n;
}

// Room for `count` bf16 values.
void* bf16_scratch(FloatBuffer& buffer, int64_t count) {
  const int64_t floats = (count + 1) / 2;
  if (buffer.size() < floats) buffer.resize(floats);
  return buffer.data();
}

void append_view(std::vector<int64_t>& key, const ConstView& v) {
  key.push_back(v.rank);
  for (int i = 0; i < v.rank; ++i) {
    key.push_back(v.dims[i]);
    key.push_back(v.strides[i]);
  }
}

// oneDNN 2.6 wraps every buffer in a memory object with a void* handle, also the operands a
// primitive only reads: the one place the engine casts const away.
void point_at(memory& m, const void* data) { m.set_data_handle(const_cast<void*>(data)); }

std::string shape_text(const ConstView& v) {
  std::string dims, strides;
  for (int i = 0; i < v.rank; ++i) {
    dims += fmt::format("{}{}", i ? "x" : "", v.dims[i]);
    strides += fmt::format("{}{}", i ? "," : "", v.strides[i]);
  }
  return fmt::format("{}:{}", dims, strides);
}

}  // namespace

Precision precision_from_name(const std::string& name) {
  if (name == "f32") return Precision::f32;
  if (name == "bf16") return Precision::bf16;
  fail("precision: '{}' is not one of f32, bf16", name);
}

bool bf16_matmul_available() {
  try {
    MatmulRunner mm(Precision::bf16);
    std::vector<float> a(4, 1.0f), c(4);
    mm.run(matrix(c.data(), 2, 2), matrix(a.data(), 2, 2), matrix(a.data(), 2, 2));
    return true;
  } catch (const Error&) {
    return false;
  }
}

struct MatmulRunner::Entry {
  dnnl::matmul primitive;
  // The operands' memory objects and the primitive's arguments, made once: a call only points
  // them at its buffers. Made per call they cost about 3 us (allocations in oneDNN and in the
  // argument map), against 6-11 us for the smallest matmul of a step.
  memory a, b, c, bias;
  std::unordered_map<int, memory> args;
  // bf16 precision: the operands as the matmul reads them, and the reorders that make them.
  memory a_low, b_low;
  dnnl::reorder a_to_low, b_to_low;
  std::string shape;
  std::string implementation;
};

MatmulRunner::MatmulRunner(Precision precision)
    : precision_(precision), engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}
MatmulRunner::~MatmulRunner() = default;

MatmulRunner::Entry& MatmulRunner::lookup(const ConstView& c, const ConstView& a,
                                          const ConstView& b, const MatmulOptions& options) {
  std::vector<int64_t>& key = key_;  // reused: no allocation per call
  key.clear();
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
  const memory::desc a_desc = describe(a), b_desc = describe(b), c_desc = describe(c);
  memory::desc bias_desc;
  dnnl::primitive_attr attr;
  if (options.scale != 1.0f) attr.set_output_scales(0, {options.scale});
  if (options.accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  const bool low = precision_ == Precision::bf16;
  try {
    const memory::desc a_low = low ? describe_plain_bf16(a) : memory::desc();
    const memory::desc b_low = low ? describe_plain_bf16(b) : memory::desc();
    if (low) {
      entry->a_to_low =
          dnnl::reorder(dnnl::reorder::primitive_desc(engine_, a_desc, engine_, a_low));
      entry->b_to_low =
          dnnl::reorder(dnnl::reorder::primitive_desc(engine_, b_desc, engine_, b_low));
    }
    const memory::desc& a_in = low ? a_low : a_desc;
    const memory::desc& b_in = low ? b_low : b_desc;
    dnnl::matmul::desc desc = [&] {
      if (options.bias == nullptr) return dnnl::matmul::desc(a_in, b_in, c_desc);
      memory::dims bias_dims(c.rank, 1);
      bias_dims.back() = c.cols();
      bias_desc = memory::desc(bias_dims, memory::data_type::f32,
                               c.rank == 2 ? memory::format_tag::ab : memory::format_tag::abcd);
      return dnnl::matmul::desc(a_in, b_in, bias_desc, c_desc);
    }();
    const dnnl::matmul::primitive_desc pd(desc, attr, engine_);
    entry->primitive = dnnl::matmul(pd);
    entry->implementation = pd.impl_info_str();
    entry->a = memory(a_desc, engine_, DNNL_MEMORY_NONE);
    entry->b = memory(b_desc, engine_, DNNL_MEMORY_NONE);
    entry->c = memory(c_desc, engine_, DNNL_MEMORY_NONE);
    if (low) {
      entry->a_low = memory(a_low, engine_, DNNL_MEMORY_NONE);
      entry->b_low = memory(b_low, engine_, DNNL_MEMORY_NONE);
    }
    entry->args = {{DNNL_ARG_SRC, low ? entry->a_low : entry->a},
                   {DNNL_ARG_WEIGHTS, low ? entry->b_low : entry->b},
                   {DNNL_ARG_DST, entry->c}};
    if (options.bias != nullptr) {
      entry->bias = memory(bias_desc, engine_, DNNL_MEMORY_NONE);
      entry->args.emplace(DNNL_ARG_BIAS, entry->bias);
    }
  } catch (const dnnl::error& e) {
    if (!low) throw;
    fail("precision=bf16: oneDNN has no bf16 matmul for this CPU ({}); use precision=f32",
         e.what());
  }
  entry->shape = fmt::format("{}A {} B {} C {}{}{}{}", low ? "bf16 " : "", shape_text(a),
                             shape_text(b), shape_text(c), options.bias ? " +bias" : "",
                             options.scale != 1.0f ? fmt::format(" *{}", options.scale) : "",
                             options.accumulate ? " +=" : "");
  return *cache_.emplace(std::move(key), std::move(entry)).first->second;
}

void MatmulRunner::run(const View& c, const ConstView& a, const ConstView& b,
                       const MatmulOptions& options) {
  if (c.rank == 2 && c.strides[1] != 1 && c.strides[0] == 1 && c.cols() > 1) {
    run_column_major(c, a, b, options);
    return;
  }
  Entry& entry = lookup(c, a, b, options);
  point_at(entry.a, a.data);
  point_at(entry.b, b.data);
  point_at(entry.c, c.data);
  if (options.bias != nullptr) point_at(entry.bias, options.bias);
  if (precision_ == Precision::bf16) {
    point_at(entry.a_low, bf16_scratch(low_a_, elements(a)));
    point_at(entry.b_low, bf16_scratch(low_b_, elements(b)));
    entry.a_to_low.execute(stream_, entry.a, entry.a_low);
    entry.b_to_low.execute(stream_, entry.b, entry.b_low);
  }
  entry.primitive.execute(stream_, entry.args);
  stream_.wait();
}

void MatmulRunner::run_column_major(const View& c, const ConstView& a, const ConstView& b,
                                    const MatmulOptions& options) {
  if (options.bias != nullptr) {
    fail("internal: matmul C {}: a column-major C takes no bias", shape_text(c));
  }
  const int64_t rows = c.rows(), cols = c.cols(), ld = c.strides[1];
  if (row_major_c_.size() < rows * cols) row_major_c_.resize(rows * cols);
  const float* computed = row_major_c_.data();
  run(matrix(row_major_c_.data(), rows, cols), a, b, {.scale = options.scale});
  // C (i, j) lives at c.data[i + j * ld]: walk C's memory in order, 16 x 16 tiles at a time.
  constexpr int64_t tile = 16;
  for (int64_t j0 = 0; j0 < cols; j0 += tile) {
    for (int64_t i0 = 0; i0 < rows; i0 += tile) {
      const int64_t j1 = std::min(j0 + tile, cols), i1 = std::min(i0 + tile, rows);
      for (int64_t j = j0; j < j1; ++j) {
        float* out = c.data + j * ld;
        for (int64_t i = i0; i < i1; ++i) {
          const float value = computed[i * cols + j];
          out[i] = options.accumulate ? out[i] + value : value;
        }
      }
    }
  }
}

std::vector<std::pair<std::string, std::string>> MatmulRunner::implementations() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, entry] : cache_) out.emplace_back(entry->shape, entry->implementation);
  return out;
}

}  // namespace vitsweep::engine
