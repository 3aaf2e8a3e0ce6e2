#include "engine/vit.hpp"

#include <chrono>
#include <cstring>

#include "common/error.hpp"
#include "engine/elementwise.hpp"
#include "engine/layernorm.hpp"
#include "engine/linear.hpp"
#include "engine/parallel.hpp"

namespace vitsweep::engine {

namespace {

// Adds the scope's wall time to one phase when timing is on.
class PhaseScope {
 public:
  PhaseScope(PhaseTimes& times, Phase phase) : times_(times), phase_(phase) {
    if (times_.enabled) start_ = std::chrono::steady_clock::now();
  }
  ~PhaseScope() {
    if (!times_.enabled) return;
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
    times_.seconds[static_cast<size_t>(phase_)] += elapsed.count();
  }

 private:
  PhaseTimes& times_;
  Phase phase_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

const char* phase_name(Phase phase) {
  switch (phase) {
    case Phase::embed: return "embed";
    case Phase::norms: return "norms";
    case Phase::attention: return "attention";
    case Phase::mlp: return "mlp";
    case Phase::head: return "head";
    case Phase::optimizer: return "optimizer";
    case Phase::count: break;
  }
  return "?";
}

VisionTransformer::VisionTransformer(const ModelShape& shape, MatmulRunner& matmul)
    : shape_(shape), mm_(matmul), layout_(shape) {
  parameters_.resize(layout_.total());
  gradients_.resize(layout_.total());
  params_ = bind(layout_, parameters_.data());
  grads_ = bind(layout_, gradients_.data());
  if (!shape_.learned_posemb) {
    sincos_ = sincos_2d_position_embedding(shape_.grid_h, shape_.grid_w, shape_.width);
  }
}

int64_t VisionTransformer::parameter_count() const {
  int64_t count = 0;
  for (const auto& t : layout_.tensors()) count += t.size;
  return count;
}

void VisionTransformer::initialize(uint64_t seed) {
  initialize_parameters(layout_, parameters_.data(), seed);
}

std::vector<float> VisionTransformer::attention_scores(int64_t index) const {
  if (!shape_.attention_branch) fail("attention_scores: this model has no attention (attn none)");
  return engine::attention_scores(shape_, blocks_[index].attention, batch_);
}

void VisionTransformer::reserve(int64_t batch) {
  if (batch <= capacity_) return;
  const ModelShape& s = shape_;
  const int64_t tokens = batch * s.tokens;
  const int64_t bnd = tokens * s.width, bnf = tokens * s.mlp_dim;

  Arena forward;
  forward.take(patches_, batch * s.patches * s.patch_dim);
  forward.take(patch_tokens_, batch * s.patches * s.width);
  residual_.assign(static_cast<size_t>(s.depth + 1), nullptr);
  for (auto& r : residual_) forward.take(r, bnd);
  blocks_.assign(static_cast<size_t>(s.depth), BlockActivations{});
  for (auto& b : blocks_) {
    if (s.attention_branch) {
      forward.take(b.ln1, bnd);
      forward.take(b.ln1_mean, tokens);
      forward.take(b.ln1_rstd, tokens);
      plan_attention_activations(forward, s, batch, b.attention);
      forward.take(b.x_mid, bnd);
    }
    forward.take(b.ln2, bnd);
    forward.take(b.ln2_mean, tokens);
    forward.take(b.ln2_rstd, tokens);
    forward.take(b.mlp.gelu_derivative, bnf);
    forward.take(b.mlp.act, bnf);
  }
  forward.take(final_norm_, bnd);
  forward.take(final_mean_, tokens);
  forward.take(final_rstd_, tokens);
  forward.take(pooled_, batch * s.width);
  forward.take(logits_, batch * s.classes);
  forward.allocate(forward_arena_);
  // Without an attention branch the MLP half reads the block's input itself.
  if (!s.attention_branch) {
    for (size_t i = 0; i < blocks_.size(); ++i) blocks_[i].x_mid = residual_[i];
  }
  capacity_ = batch;
}

void VisionTransformer::reserve_backward(int64_t batch) {
  if (batch <= backward_capacity_) return;
  const ModelShape& s = shape_;
  const int64_t tokens = batch * s.tokens;
  const int64_t bnd = tokens * s.width, bnf = tokens * s.mlp_dim;
  Arena backward;
  backward.take(d_residual_, bnd);
  backward.take(d_norm_, bnd);
  backward.take(d_hidden_, bnf);
  backward.take(d_pooled_, batch * s.width);
  backward.take(d_patch_tokens_, batch * s.patches * s.width);
  if (s.attention_branch) plan_attention_scratch(backward, s, batch, attention_scratch_);
  backward.allocate(backward_arena_);
  backward_capacity_ = batch;
}

void VisionTransformer::embed_forward(const float* images, int64_t batch) {
  const ModelShape& s = shape_;
  const int64_t p = s.patch, c = s.channels, ih = s.image_height, iw = s.image_width;
  // im2col: patch (gy, gx) of image b becomes row b * patches + gy * grid_w + gx, its columns in
  // PyTorch's conv kernel order (channel, ky, kx).
  parallel_ranges(batch * s.patches, 16, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / s.patches, cell = row % s.patches;
      const int64_t gy = cell / s.grid_w, gx = cell % s.grid_w;
      float* out = patches_ + row * s.patch_dim;
      for (int64_t ch = 0; ch < c; ++ch) {
        for (int64_t ky = 0; ky < p; ++ky) {
          const float* in = images + ((b * c + ch) * ih + gy * p + ky) * iw + gx * p;
          std::memcpy(out + (ch * p + ky) * p, in, static_cast<size_t>(p) * sizeof(float));
        }
      }
    }
  });
  linear_forward(mm_, patches_, params_.patch_weight, params_.patch_bias, patch_tokens_,
                 batch * s.patches, s.patch_dim, s.width);
  const float* position = s.learned_posemb ? params_.pos_embed : sincos_.data();
  const int64_t first = s.cls_token ? 1 : 0;
  float* x0 = residual_[0];
  parallel_ranges(batch, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      float* image_tokens = x0 + b * s.tokens * s.width;
      if (s.cls_token) std::memcpy(image_tokens, params_.cls_token, s.width * sizeof(float));
      add(patch_tokens_ + b * s.patches * s.width, position, image_tokens + first * s.width,
          s.patches * s.width);
    }
  });
}

void VisionTransformer::embed_backward(const float* d_x0, int64_t batch) {
  const ModelShape& s = shape_;
  const int64_t first = s.cls_token ? 1 : 0;
  for (int64_t b = 0; b < batch; ++b) {
    std::memcpy(d_patch_tokens_ + b * s.patches * s.width, d_x0 + (b * s.tokens + first) * s.width,
                s.patches * s.width * sizeof(float));
  }
  if (s.cls_token) {
    // The class token is row 0 of every image: its gradient sums over the batch.
    const int64_t w = s.width;
    for (int64_t b = 0; b < batch; ++b) {
      const float* row = d_x0 + b * s.tokens * w;
      for (int64_t i = 0; i < w; ++i) grads_.cls_token[i] += row[i];
    }
  }
  if (s.learned_posemb) {
    add_column_sums(d_patch_tokens_, batch, s.patches * s.width, grads_.pos_embed);
  }
  linear_backward(mm_, d_patch_tokens_, patches_, params_.patch_weight, nullptr,
                  grads_.patch_weight, grads_.patch_bias, batch * s.patches, s.patch_dim, s.width);
}

void VisionTransformer::block_forward(int64_t index, int64_t batch) {
  const ModelShape& s = shape_;
  const BlockTensors& p = params_.blocks[index];
  BlockActivations& a = blocks_[index];
  const int64_t rows = batch * s.tokens, d = s.width;
  const float* x_in = residual_[index];
  float* x_out = residual_[index + 1];
  if (s.attention_branch) {
    {
      PhaseScope scope(times_, Phase::norms);
      layernorm_forward(x_in, p.norm1_weight, p.norm1_bias, a.ln1, a.ln1_mean, a.ln1_rstd, rows, d);
    }
    PhaseScope scope(times_, Phase::attention);
    std::memcpy(a.x_mid, x_in, rows * d * sizeof(float));
    attention_forward(mm_, s, p, a.ln1, a.attention, a.x_mid, batch);
  }
  {
    PhaseScope scope(times_, Phase::norms);
    layernorm_forward(a.x_mid, p.norm2_weight, p.norm2_bias, a.ln2, a.ln2_mean, a.ln2_rstd, rows,
                      d);
  }
  PhaseScope scope(times_, Phase::mlp);
  std::memcpy(x_out, a.x_mid, rows * d * sizeof(float));
  mlp_forward(mm_, s, p, a.ln2, a.mlp, x_out, rows);
}

void VisionTransformer::block_backward(int64_t index, int64_t batch) {
  const ModelShape& s = shape_;
  const BlockTensors& p = params_.blocks[index];
  BlockTensors& g = grads_.blocks[index];
  const BlockActivations& a = blocks_[index];
  const int64_t rows = batch * s.tokens, d = s.width;
  // d_residual_ holds d(x_out); the MLP branch adds its part to make it d(x_mid).
  {
    PhaseScope scope(times_, Phase::mlp);
    set_zero(d_norm_, rows * d);
    mlp_backward(mm_, s, p, g, a.ln2, a.mlp, d_residual_, d_norm_, d_hidden_, rows);
  }
  {
    PhaseScope scope(times_, Phase::norms);
    layernorm_backward(d_norm_, a.x_mid, p.norm2_weight, a.ln2_mean, a.ln2_rstd, d_residual_,
                       g.norm2_weight, g.norm2_bias, rows, d);
  }
  // ... and the attention branch adds its part to make it d(x_in).
  if (!s.attention_branch) return;
  {
    PhaseScope scope(times_, Phase::attention);
    set_zero(d_norm_, rows * d);
    attention_backward(mm_, s, p, g, a.ln1, a.attention, d_residual_, d_norm_, attention_scratch_,
                       batch);
  }
  PhaseScope scope(times_, Phase::norms);
  layernorm_backward(d_norm_, residual_[index], p.norm1_weight, a.ln1_mean, a.ln1_rstd, d_residual_,
                     g.norm1_weight, g.norm1_bias, rows, d);
}

void VisionTransformer::report_gradients_ready(int64_t begin, int64_t end) {
  if (gradients_ready_) gradients_ready_(begin, end);
}

const float* VisionTransformer::forward(const float* images, int64_t batch) {
  reserve(batch);
  batch_ = batch;
  const ModelShape& s = shape_;
  {
    PhaseScope scope(times_, Phase::embed);
    embed_forward(images, batch);
  }
  for (int64_t i = 0; i < s.depth; ++i) block_forward(i, batch);
  {
    PhaseScope scope(times_, Phase::norms);
    layernorm_forward(residual_[s.depth], params_.norm_weight, params_.norm_bias, final_norm_,
                      final_mean_, final_rstd_, batch * s.tokens, s.width);
  }
  PhaseScope scope(times_, Phase::head);
  // Pool: the class token (row 0), or the mean over all tokens.
  for (int64_t b = 0; b < batch; ++b) {
    const float* tokens = final_norm_ + b * s.tokens * s.width;
    float* out = pooled_ + b * s.width;
    if (s.cls_token) {
      std::memcpy(out, tokens, s.width * sizeof(float));
      continue;
    }
    std::fill(out, out + s.width, 0.0f);
    for (int64_t t = 0; t < s.tokens; ++t) {
      for (int64_t i = 0; i < s.width; ++i) out[i] += tokens[t * s.width + i];
    }
    for (int64_t i = 0; i < s.width; ++i) out[i] /= static_cast<float>(s.tokens);
  }
  linear_forward(mm_, pooled_, params_.head_weight, params_.head_bias, logits_, batch, s.width,
                 s.classes);
  return logits_;
}

void VisionTransformer::backward(const float* d_logits, bool add_to_gradients) {
  const ModelShape& s = shape_;
  const int64_t batch = batch_;
  const int64_t rows = batch * s.tokens;
  reserve_backward(batch);
  // The first (or only) pass of a step: every gradient starts from zero (the layers add into
  // them). A later micro-batch adds to the sums so far, which are not final, so data parallel
  // (which reduces ranges as they are reported final) must not see them.
  if (add_to_gradients && gradients_ready_) {
    fail(
        "backward: gradients added over micro-batches cannot be reported ready to data "
        "parallel");
  }
  if (!add_to_gradients) set_zero(gradients_.data(), gradients_.size());
  {
    PhaseScope scope(times_, Phase::head);
    set_zero(d_pooled_, batch * s.width);
    linear_backward(mm_, d_logits, pooled_, params_.head_weight, d_pooled_, grads_.head_weight,
                    grads_.head_bias, batch, s.width, s.classes);
    // Un-pool into d(final norm output): the class token's row, or a share to every token.
    const float share = s.cls_token ? 1.0f : 1.0f / static_cast<float>(s.tokens);
    const int64_t pooled_tokens = s.cls_token ? 1 : s.tokens;
    set_zero(d_norm_, rows * s.width);
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t t = 0; t < pooled_tokens; ++t) {
        float* out = d_norm_ + (b * s.tokens + t) * s.width;
        const float* in = d_pooled_ + b * s.width;
        for (int64_t i = 0; i < s.width; ++i) out[i] += in[i] * share;
      }
    }
  }
  {
    PhaseScope scope(times_, Phase::norms);
    set_zero(d_residual_, rows * s.width);
    layernorm_backward(d_norm_, residual_[s.depth], params_.norm_weight, final_mean_, final_rstd_,
                       d_residual_, grads_.norm_weight, grads_.norm_bias, rows, s.width);
  }
  // Each part of the layout is final once its backward is done: the head and final norm, each
  // block from the last, the embedding.
  report_gradients_ready(layout_.block_start(s.depth), layout_.total());
  for (int64_t i = s.depth - 1; i >= 0; --i) {
    block_backward(i, batch);
    report_gradients_ready(layout_.block_start(i), layout_.block_start(i + 1));
  }
  {
    PhaseScope scope(times_, Phase::embed);
    embed_backward(d_residual_, batch);
  }
  report_gradients_ready(0, layout_.block_start(0));
}

}  // namespace vitsweep::engine
