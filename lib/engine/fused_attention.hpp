// The attention core, fused: from q, k, v to every head's output O = A V and back, tile by tile
// over queries and keys, never holding an L x L matrix (FlashAttention's scheme, on a CPU) beyond
// one tile: when the keys fit a single tile (L < 96), the forward keeps that tile of scores S for
// the backward, which then skips computing Q K^T again (the same bits either way).
//
//   point-wise: O_i = c sum_j h(s_ij) v_j, c = L^-alpha, s = q.k / sqrt(d). Key tiles are summed in
//               any order with no row statistics; the backward takes S (kept or recomputed) and
//               uses dS = c h'(S) (dO V^T), with no row-sum term.
//   softmax:    online softmax (running row max and sum, rescaling the partial output), keeping
//               only each row's log-sum-exp; the backward recomputes P = exp(S - lse) and uses
//               dS = P (dP - D) with D_i = dO_i . O_i.
// Both families run the same loops with the same micro-kernels (tile_gemm.hpp), so comparing them
// is fair. One TBB task per (image, head) walks all query and key tiles in a fixed order and
// accumulates dQ, dK, dV itself: the result has the same bits for any thread count.
//
// Layout: q, k, v, out and the gradients are row-major [B, N, H * hd] (heads side by side in each
// token's row, as the projections write them); lse is [B, H, N].
#pragma once

#include <cstdint>

#include "engine/attention_weights.hpp"

namespace vitsweep::engine {

struct AttentionCoreShape {
  AttentionFunction function;
  float length_scale = 1.0f;  // c = L^-alpha for the point-wise family, 1 for softmax
  int64_t batch = 0, tokens = 0, heads = 0, head_dim = 0;

  int64_t width() const { return heads * head_dim; }
};

// Floats of scores the forward can keep for the backward, [B, H, N, round_up(N, 16)]: when the
// keys fit one tile (N < 96), the backward then reads S instead of computing Q K^T again (the
// same bits). 0 for longer sequences, where the backward recomputes S tile by tile.
int64_t fused_attention_kept_score_floats(const AttentionCoreShape& shape);

// out = attention(q, k, v). lse (softmax only; may be nullptr otherwise) receives each query
// row's log sum_j exp(s_ij), which the backward needs. kept_scores (nullptr: none) receives
// fused_attention_kept_score_floats(shape) floats of scores for the backward.
void fused_attention_forward(const AttentionCoreShape& shape, const float* q, const float* k,
                             const float* v, float* out, float* lse, float* kept_scores = nullptr);

// dq, dk, dv += their gradients from d_out, given the forward's inputs, its out (softmax's D
// term), lse (softmax) and the scores it kept (nullptr: recomputed).
void fused_attention_backward(const AttentionCoreShape& shape, const float* q, const float* k,
                              const float* v, const float* out, const float* lse,
                              const float* kept_scores, const float* d_out, float* dq, float* dk,
                              float* dv);

// The scores s_ij = q_i.k_j / sqrt(hd) as [B, H, N, N], computed exactly as the fused kernel
// computes them (same bits): for tests that need to know where each score lies relative to h's
// kinks, not for training.
void fused_attention_scores(const AttentionCoreShape& shape, const float* q, const float* k,
                            float* scores);

}  // namespace vitsweep::engine
