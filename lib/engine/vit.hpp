// The Vision Transformer (pre-LN, big_vision/timm style; method.md): patch embedding, position
// embedding, optional class token, `depth` blocks of attention and GELU MLP, final LayerNorm,
// global average pooling or the class token, linear head.
//
// forward() keeps every activation the backward needs; backward() computes every parameter
// gradient of the last forward's batch (or adds them to the gradients there: micro-batches).
//
// One rule for every backward function in the engine (as llm.c's): it ADDS into its gradient
// outputs, parameters' and inputs' alike (dx += ..., dW += ...), and never overwrites them. So a
// tensor read in several places (the residual stream, x feeding q, k, v and the gate) sums its
// gradients with no special case. The caller zeroes: backward() zeroes the parameter gradients
// once per step (at its first micro-batch), and each scratch gradient before the backward that
// adds into it. Values a backward computes for its own use (the attention core's dA, the MLP's
// hidden-layer gradient) are not gradient outputs: it writes them.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "engine/attention.hpp"
#include "engine/buffer.hpp"
#include "engine/matmul.hpp"
#include "engine/mlp.hpp"
#include "engine/model_shape.hpp"
#include "engine/parameters.hpp"

namespace vitsweep::engine {

// Where training time goes, for the benchmark's per-phase breakdown.
enum class Phase { embed, norms, attention, mlp, head, optimizer, count };
const char* phase_name(Phase phase);
struct PhaseTimes {
  std::array<double, static_cast<size_t>(Phase::count)> seconds{};
  bool enabled = false;
  void reset() { seconds.fill(0.0); }
};

class VisionTransformer {
 public:
  VisionTransformer(const ModelShape& shape, MatmulRunner& matmul);

  const ModelShape& shape() const { return shape_; }
  const ParameterLayout& layout() const { return layout_; }
  FloatBuffer& parameters() { return parameters_; }
  FloatBuffer& gradients() { return gradients_; }
  const FloatBuffer& parameters() const { return parameters_; }
  const FloatBuffer& gradients() const { return gradients_; }
  const ModelTensors& params() const { return params_; }
  const ModelTensors& grads() const { return grads_; }
  // Parameters excluding alignment padding.
  int64_t parameter_count() const;

  void initialize(uint64_t seed);

  // images: [batch, C, H, W] normalised. Returns logits [batch, classes].
  const float* forward(const float* images, int64_t batch);
  // d_logits: [batch, classes] for the batch of the last forward(). Fills gradients(), or with
  // add_to_gradients adds to them (a later micro-batch of the same step: micro_batches.hpp).
  void backward(const float* d_logits, bool add_to_gradients = false);

  PhaseTimes& times() { return times_; }

  // Called during backward() each time a contiguous range [begin, end) of gradients() (in floats)
  // is final: the final norm and head, then each block from the last, then the embedding (begin
  // 0, the last call). A data-parallel trainer starts reducing a range while the rest of the
  // backward runs. Empty: no calls. Not with backward(..., add_to_gradients), whose ranges are
  // partial sums (backward refuses the two together).
  using GradientsReady = std::function<void(int64_t begin, int64_t end)>;
  void set_gradients_ready(GradientsReady hook) { gradients_ready_ = std::move(hook); }

  // Block `index`'s attention scores [batch, heads, tokens, tokens] from the last forward()
  // (attention_scores in attention.hpp).
  std::vector<float> attention_scores(int64_t index) const;

 private:
  struct BlockActivations {
    float *ln1, *ln1_mean, *ln1_rstd;
    AttentionActivations attention;
    float *x_mid, *ln2, *ln2_mean, *ln2_rstd;
    MlpActivations mlp;
  };
  void reserve(int64_t batch);           // forward activations
  void reserve_backward(int64_t batch);  // backward scratch (training only)
  void embed_forward(const float* images, int64_t batch);
  void embed_backward(const float* d_x0, int64_t batch);
  void block_forward(int64_t index, int64_t batch);
  void block_backward(int64_t index, int64_t batch);

  ModelShape shape_;
  MatmulRunner& mm_;
  ParameterLayout layout_;
  FloatBuffer parameters_, gradients_;
  ModelTensors params_, grads_;
  std::vector<float> sincos_;  // fixed position embedding, when not learned

  int64_t capacity_ = 0, backward_capacity_ = 0, batch_ = 0;
  FloatBuffer forward_arena_, backward_arena_;
  float *patches_ = nullptr, *patch_tokens_ = nullptr;
  std::vector<float*> residual_;  // depth + 1 streams: block i reads [i], writes [i + 1]
  std::vector<BlockActivations> blocks_;
  float *final_norm_ = nullptr, *final_mean_ = nullptr, *final_rstd_ = nullptr;
  float *pooled_ = nullptr, *logits_ = nullptr;
  // backward scratch, shared by all blocks
  float *d_residual_ = nullptr, *d_norm_ = nullptr, *d_hidden_ = nullptr, *d_pooled_ = nullptr,
        *d_patch_tokens_ = nullptr;
  AttentionScratch attention_scratch_{};

  PhaseTimes times_;
  GradientsReady gradients_ready_;
  void report_gradients_ready(int64_t begin, int64_t end);
};

}  // namespace vitsweep::engine
