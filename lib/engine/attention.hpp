// Multi-head self-attention of one block, forward and backward, for every attention function:
// softmax, or point-wise L^-alpha h(q.k/sqrt(d)) with h passed in (method.md). Optional qk-norm
// (one LayerNorm(head_dim) for q and one for k, shared by all heads) and gate
// (act(x W_g + b_g) multiplied into the heads' output before the out projection).
//
// Layout: tokens [B, N, D] row-major; heads are strided [B, H, N, hd] views of the same buffers.
// The core (scores -> weights -> A.V and back) runs one of two ways (ModelShape::fused_attention):
//   matmul: each Q.K^T and A.V is one batched oneDNN matmul with no copies, and the [B, H, N, N]
//           scores and weights are stored for the backward;
//   fused:  fused_attention.hpp, tile by tile, storing no N x N matrix (softmax keeps its rows'
//           log-sum-exp).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/buffer.hpp"
#include "engine/fused_attention.hpp"
#include "engine/matmul.hpp"
#include "engine/model_shape.hpp"
#include "engine/parameters.hpp"

namespace vitsweep::engine {

// What the forward keeps for the backward. Optional parts are nullptr when unused.
struct AttentionActivations {
  float *q, *k, *v;                          // [B, N, D] projections
  float *q_normed, *k_normed;                // [B, N, D] (qk-norm)
  float *q_mean, *q_rstd, *k_mean, *k_rstd;  // [B * N * H] (qk-norm)
  float* scores;                             // [B, H, N, N] q.k / sqrt(hd) (matmul)
  float* weights;                            // [B, H, N, N] softmax(S) or h(S) (unscaled; matmul)
  float* lse;                                // [B, H, N] log-sum-exp of score rows (fused softmax)
  float* kept_scores;                        // [B, H, N, N rounded up to 16] S (fused, N < 96)
  float* heads_out;                          // [B, N, D] concatenated heads
  float *gate_derivative, *gate, *gated;     // [B, N, D] (gate): act'(pre), act(pre), gate * heads
};

// Scratch for the backward, reused by every block.
struct AttentionScratch {
  float *d_proj_in, *d_heads_out, *d_gate_pre;  // [B, N, D]
  float *dq, *dk, *dv, *dq_normed, *dk_normed;  // [B, N, D]
  float *d_weights, *d_scores;                  // [B, H, N, N] (matmul)
};

// Reserve the forward's activations and the backward's scratch for `batch` images in an arena.
void plan_attention_activations(Arena& arena, const ModelShape& shape, int64_t batch,
                                AttentionActivations& acts);
void plan_attention_scratch(Arena& arena, const ModelShape& shape, int64_t batch,
                            AttentionScratch& scratch);

// One layer's activations and backward scratch for `batch` images in storage of their own, for
// running a layer outside a model's arenas (benchmarks, tests).
class AttentionWorkspace {
 public:
  AttentionWorkspace(const ModelShape& shape, int64_t batch);
  // Floats reserved in all.
  int64_t floats() const { return forward_.size() + backward_.size(); }

  AttentionActivations acts{};
  AttentionScratch scratch{};

 private:
  FloatBuffer forward_, backward_;
};

// The attention core's sizes for `batch` images.
AttentionCoreShape attention_core_shape(const ModelShape& shape, int64_t batch);

// heads_out = attention(q, k, acts.v): the core alone, without the projections (q and k are the
// normalised ones under qk-norm). Fills the activations its backward needs.
void attention_core_forward(MatmulRunner& mm, const ModelShape& shape, const float* q,
                            const float* k, AttentionActivations& acts, int64_t batch);
// dq, dk, dv += their gradients from d_heads_out.
void attention_core_backward(MatmulRunner& mm, const ModelShape& shape, const float* q,
                             const float* k, const AttentionActivations& acts,
                             const float* d_heads_out, float* dq, float* dk, float* dv,
                             AttentionScratch& scratch, int64_t batch);

// The scores [B, H, N, N] of the last forward: a copy of the stored ones (matmul), or recomputed
// from q and k with the bits the fused kernel saw (fused). For tests (kink detection).
std::vector<float> attention_scores(const ModelShape& shape, const AttentionActivations& acts,
                                    int64_t batch);

// out += proj(attention(xn)): the residual add happens in the out projection's matmul.
void attention_forward(MatmulRunner& mm, const ModelShape& shape, const BlockTensors& params,
                       const float* xn, AttentionActivations& acts, float* out, int64_t batch);

// From d_out (gradient of the block's residual output): d_xn and every parameter gradient of the
// attention += their gradients.
void attention_backward(MatmulRunner& mm, const ModelShape& shape, const BlockTensors& params,
                        BlockTensors& grads, const float* xn, const AttentionActivations& acts,
                        const float* d_out, float* d_xn, AttentionScratch& scratch, int64_t batch);

}  // namespace vitsweep::engine
