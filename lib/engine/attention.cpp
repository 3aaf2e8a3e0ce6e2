#include "engine/attention.hpp"

#include <algorithm>
#include <cmath>

#include "engine/attention_weights.hpp"
#include "engine/elementwise.hpp"
#include "engine/layernorm.hpp"
#include "engine/linear.hpp"

namespace vitsweep::engine {

void plan_attention_activations(Arena& arena, const ModelShape& s, int64_t batch,
                                AttentionActivations& a) {
  const int64_t bnd = batch * s.tokens * s.width;
  const int64_t scores = batch * s.heads * s.tokens * s.tokens;
  const int64_t head_rows = batch * s.tokens * s.heads;
  arena.take(a.q, bnd);
  arena.take(a.k, bnd);
  arena.take(a.v, bnd);
  arena.take_if(s.qk_norm, a.q_normed, bnd);
  arena.take_if(s.qk_norm, a.k_normed, bnd);
  arena.take_if(s.qk_norm, a.q_mean, head_rows);
  arena.take_if(s.qk_norm, a.q_rstd, head_rows);
  arena.take_if(s.qk_norm, a.k_mean, head_rows);
  arena.take_if(s.qk_norm, a.k_rstd, head_rows);
  // The fused core keeps no N x N matrix, only softmax's per-row log-sum-exp.
  arena.take_if(!s.fused_attention, a.scores, scores);
  arena.take_if(!s.fused_attention, a.weights, scores);
  arena.take_if(s.fused_attention && s.attention.is_softmax(), a.lse, batch * s.heads * s.tokens);
  const int64_t kept_scores = fused_attention_kept_score_floats(attention_core_shape(s, batch));
  arena.take_if(s.fused_attention && kept_scores > 0, a.kept_scores, kept_scores);
  arena.take(a.heads_out, bnd);
  arena.take_if(s.gated, a.gate_derivative, bnd);
  arena.take_if(s.gated, a.gate, bnd);
  arena.take_if(s.gated, a.gated, bnd);
}

void plan_attention_scratch(Arena& arena, const ModelShape& s, int64_t batch, AttentionScratch& t) {
  const int64_t bnd = batch * s.tokens * s.width;
  arena.take(t.d_proj_in, bnd);
  arena.take_if(s.gated, t.d_heads_out, bnd);
  arena.take_if(s.gated, t.d_gate_pre, bnd);
  arena.take(t.dq, bnd);
  arena.take(t.dk, bnd);
  arena.take(t.dv, bnd);
  arena.take_if(s.qk_norm, t.dq_normed, bnd);
  arena.take_if(s.qk_norm, t.dk_normed, bnd);
  arena.take_if(!s.fused_attention, t.d_weights, batch * s.heads * s.tokens * s.tokens);
  arena.take_if(!s.fused_attention, t.d_scores, batch * s.heads * s.tokens * s.tokens);
}

AttentionWorkspace::AttentionWorkspace(const ModelShape& shape, int64_t batch) {
  Arena forward, backward;
  plan_attention_activations(forward, shape, batch, acts);
  plan_attention_scratch(backward, shape, batch, scratch);
  forward.allocate(forward_);
  backward.allocate(backward_);
}

AttentionCoreShape attention_core_shape(const ModelShape& s, int64_t batch) {
  return {.function = s.attention,
          .length_scale = s.length_scale(),
          .batch = batch,
          .tokens = s.tokens,
          .heads = s.heads,
          .head_dim = s.head_dim};
}

void attention_core_forward(MatmulRunner& mm, const ModelShape& s, const float* q, const float* k,
                            AttentionActivations& a, int64_t batch) {
  if (s.fused_attention) {
    fused_attention_forward(attention_core_shape(s, batch), q, k, a.v, a.heads_out, a.lse,
                            a.kept_scores);
    return;
  }
  const int64_t n = s.tokens, h = s.heads, hd = s.head_dim;
  const float score_scale = 1.0f / std::sqrt(static_cast<float>(hd));
  mm.run(batched(a.scores, batch, h, n, n), heads(q, batch, n, h, hd),
         heads(k, batch, n, h, hd).t(), {.scale = score_scale});
  attention_weights_forward(s.attention, a.scores, a.weights, batch * h * n, n);
  // O = L^-alpha h(S) V: the length scale rides on the matmul's output scale.
  mm.run(heads(a.heads_out, batch, n, h, hd), batched(a.weights, batch, h, n, n),
         heads(a.v, batch, n, h, hd), {.scale = s.length_scale()});
}

void attention_core_backward(MatmulRunner& mm, const ModelShape& s, const float* q, const float* k,
                             const AttentionActivations& a, const float* d_heads_out, float* dq,
                             float* dk, float* dv, AttentionScratch& t, int64_t batch) {
  if (s.fused_attention) {
    fused_attention_backward(attention_core_shape(s, batch), q, k, a.v, a.heads_out, a.lse,
                             a.kept_scores, d_heads_out, dq, dk, dv);
    return;
  }
  const int64_t n = s.tokens, h = s.heads, hd = s.head_dim;
  const float* d_out = d_heads_out;
  // dA = c dO V^T (a value of its own, not added anywhere) and dV += c A^T dO, c = L^-alpha (1
  // for softmax).
  const float c = s.length_scale();
  mm.run(batched(t.d_weights, batch, h, n, n), heads(d_out, batch, n, h, hd),
         heads(a.v, batch, n, h, hd).t(), {.scale = c});
  mm.run(heads(dv, batch, n, h, hd), batched(a.weights, batch, h, n, n).t(),
         heads(d_out, batch, n, h, hd), {.scale = c, .accumulate = true});
  set_zero(t.d_scores, batch * h * n * n);
  attention_weights_backward(s.attention, a.scores, a.weights, t.d_weights, t.d_scores,
                             batch * h * n, n);
  // S = Q K^T / sqrt(hd): dQ += dS K / sqrt(hd), dK += dS^T Q / sqrt(hd).
  const float score_scale = 1.0f / std::sqrt(static_cast<float>(hd));
  mm.run(heads(dq, batch, n, h, hd), batched(t.d_scores, batch, h, n, n), heads(k, batch, n, h, hd),
         {.scale = score_scale, .accumulate = true});
  mm.run(heads(dk, batch, n, h, hd), batched(t.d_scores, batch, h, n, n).t(),
         heads(q, batch, n, h, hd), {.scale = score_scale, .accumulate = true});
}

std::vector<float> attention_scores(const ModelShape& s, const AttentionActivations& a,
                                    int64_t batch) {
  std::vector<float> scores(static_cast<size_t>(batch * s.heads * s.tokens * s.tokens));
  if (!s.fused_attention) {
    std::copy(a.scores, a.scores + scores.size(), scores.begin());
    return scores;
  }
  fused_attention_scores(attention_core_shape(s, batch), s.qk_norm ? a.q_normed : a.q,
                         s.qk_norm ? a.k_normed : a.k, scores.data());
  return scores;
}

void attention_forward(MatmulRunner& mm, const ModelShape& s, const BlockTensors& p,
                       const float* xn, AttentionActivations& a, float* out, int64_t batch) {
  const int64_t rows = batch * s.tokens, d = s.width;
  // q, k, v as three matmuls into separate buffers: strided views into one packed [B, N, 3D]
  // buffer make oneDNN fall back to a slower GEMM (onednn-notes.md).
  float* qkv_out[3] = {a.q, a.k, a.v};
  for (int i = 0; i < 3; ++i) {
    linear_forward(mm, xn, p.qkv_weight + i * d * d, p.qkv_bias + i * d, qkv_out[i], rows, d, d);
  }
  const float* q = a.q;
  const float* k = a.k;
  if (s.qk_norm) {
    layernorm_forward(a.q, p.q_norm_weight, p.q_norm_bias, a.q_normed, a.q_mean, a.q_rstd,
                      rows * s.heads, s.head_dim);
    layernorm_forward(a.k, p.k_norm_weight, p.k_norm_bias, a.k_normed, a.k_mean, a.k_rstd,
                      rows * s.heads, s.head_dim);
    q = a.q_normed;
    k = a.k_normed;
  }
  attention_core_forward(mm, s, q, k, a, batch);
  const float* proj_in = a.heads_out;
  if (s.gated) {
    linear_forward(mm, xn, p.gate_weight, p.gate_bias, a.gate_derivative, rows, d, d);
    activation_forward_keeping_derivative(s.gate_activation, a.gate_derivative, a.gate, rows * d);
    multiply(a.gate, a.heads_out, a.gated, rows * d);
    proj_in = a.gated;
  }
  linear_forward(mm, proj_in, p.proj_weight, p.proj_bias, out, rows, d, d, /*accumulate=*/true);
}

void attention_backward(MatmulRunner& mm, const ModelShape& s, const BlockTensors& p,
                        BlockTensors& g, const float* xn, const AttentionActivations& a,
                        const float* d_out, float* d_xn, AttentionScratch& t, int64_t batch) {
  const int64_t rows = batch * s.tokens, d = s.width;
  const int64_t hd = s.head_dim, h = s.heads;
  const float* proj_in = s.gated ? a.gated : a.heads_out;
  linear_backward(mm, d_out, proj_in, p.proj_weight, /*dx=*/nullptr, g.proj_weight, g.proj_bias,
                  rows, d, d);
  // The gradients of the projection's input and of the gate are this function's own values, not
  // gradient outputs: written (no zeroing, no sum post-op), then passed on.
  mm.run(matrix(t.d_proj_in, rows, d), matrix(d_out, rows, d), matrix(p.proj_weight, d, d));
  const float* d_heads_out = t.d_proj_in;
  if (s.gated) {
    // gated = act(pre) * heads_out, pre the gate's linear output; act'(pre) kept by the forward
    multiply(t.d_proj_in, a.heads_out, t.d_gate_pre, rows * d);
    multiply(t.d_gate_pre, a.gate_derivative, t.d_gate_pre, rows * d);
    multiply(t.d_proj_in, a.gate, t.d_heads_out, rows * d);
    d_heads_out = t.d_heads_out;
  }
  const float* q = s.qk_norm ? a.q_normed : a.q;
  const float* k = s.qk_norm ? a.k_normed : a.k;
  float* dq = s.qk_norm ? t.dq_normed : t.dq;
  float* dk = s.qk_norm ? t.dk_normed : t.dk;
  set_zero(dq, rows * d);
  set_zero(dk, rows * d);
  set_zero(t.dv, rows * d);
  attention_core_backward(mm, s, q, k, a, d_heads_out, dq, dk, t.dv, t, batch);
  if (s.qk_norm) {
    set_zero(t.dq, rows * d);
    set_zero(t.dk, rows * d);
    layernorm_backward(t.dq_normed, a.q, p.q_norm_weight, a.q_mean, a.q_rstd, t.dq, g.q_norm_weight,
                       g.q_norm_bias, rows * h, hd);
    layernorm_backward(t.dk_normed, a.k, p.k_norm_weight, a.k_mean, a.k_rstd, t.dk, g.k_norm_weight,
                       g.k_norm_bias, rows * h, hd);
  }
  // x feeds q, k, v (and the gate): each adds its part to d_xn.
  const float* d_qkv[3] = {t.dq, t.dk, t.dv};
  for (int i = 0; i < 3; ++i) {
    linear_backward(mm, d_qkv[i], xn, p.qkv_weight + i * d * d, d_xn, g.qkv_weight + i * d * d,
                    g.qkv_bias + i * d, rows, d, d);
  }
  if (s.gated) {
    linear_backward(mm, t.d_gate_pre, xn, p.gate_weight, d_xn, g.gate_weight, g.gate_bias, rows, d,
                    d);
  }
}

}  // namespace vitsweep::engine
