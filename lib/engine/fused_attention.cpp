#include "engine/fused_attention.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <limits>

#include "engine/buffer.hpp"
#include "engine/parallel.hpp"
#include "engine/tile_gemm.hpp"
#include "engine/transpose_16x16.hpp"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace vitsweep::engine {
namespace {

// Query rows and key columns per tile. 48 rows split evenly into the micro-kernel's register
// blocks (6, 8 or 12 rows); 64 keys are one panel of four AVX-512 vectors. A score tile and its
// gradient (2 x 12 KiB) stay in L1 next to the rows of Q, K, V they combine.
constexpr int64_t kQueryTile = 48;
constexpr int64_t kKeyTile = 64;
constexpr int64_t kLanes = 16;

int64_t round_up_to_lanes(int64_t n) { return (n + kLanes - 1) / kLanes * kLanes; }

// Tiles of `size` over n items, the last one also taking a remainder under half a tile: a tiny
// tile would run the micro-kernel at its least efficient shapes (a 1-row tile for 49 tokens costs
// a whole pass over the keys). So no tile is shorter than size / 2 unless n is, and none is
// longer than 1.5 size.
struct Tiling {
  int64_t n, size, count;

  Tiling(int64_t n_items, int64_t tile_size)
      : n(n_items),
        size(tile_size),
        count(std::max<int64_t>(1, (n_items + tile_size / 2) / tile_size)) {}
  int64_t begin(int64_t tile) const { return tile * size; }
  int64_t end(int64_t tile) const { return tile + 1 == count ? n : (tile + 1) * size; }
};

constexpr int64_t kMaxQueryRows = kQueryTile * 3 / 2;
constexpr int64_t kMaxKeyColumns = (kKeyTile * 3 / 2 + kLanes - 1) / kLanes * kLanes;

// Scratch that lives as long as the thread, so tasks do not allocate.
float* thread_scratch(int64_t floats) {
  thread_local FloatBuffer buffer;
  if (buffer.size() < floats) buffer.resize(floats);
  return buffer.data();
}

// out[t * ld + j] = scale * rows[j * row_stride + t] for j < n, and 0 for n <= j < ld (ld a
// multiple of 16): one head's keys (or values) transposed, so that a tile of scores is a sum of
// rows of B, one per head dimension.
#if defined(__AVX512F__)
void pack_transposed(const float* rows, int64_t row_stride, int64_t n, int64_t head_dim,
                     float scale, float* out, int64_t ld) {
  const __m512 scale_v = _mm512_set1_ps(scale);
  for (int64_t j0 = 0; j0 < ld; j0 += kLanes) {
    for (int64_t t0 = 0; t0 < head_dim; t0 += kLanes) {
      const int64_t width = std::min(kLanes, head_dim - t0);
      const __mmask16 mask = width == kLanes ? __mmask16(0xFFFF) : __mmask16((1u << width) - 1u);
      __m512 block[kLanes];
      for (int64_t l = 0; l < kLanes; ++l) {
        block[l] = j0 + l < n ? _mm512_mul_ps(scale_v, _mm512_maskz_loadu_ps(
                                                           mask, rows + (j0 + l) * row_stride + t0))
                              : _mm512_setzero_ps();
      }
      transpose_16x16(block);
      for (int64_t c = 0; c < width; ++c) _mm512_storeu_ps(out + (t0 + c) * ld + j0, block[c]);
    }
  }
}
#else
void pack_transposed(const float* rows, int64_t row_stride, int64_t n, int64_t head_dim,
                     float scale, float* out, int64_t ld) {
  for (int64_t j = 0; j < n; ++j) {
    const float* row = rows + j * row_stride;
    for (int64_t t = 0; t < head_dim; ++t) out[t * ld + j] = scale * row[t];
  }
  for (int64_t t = 0; t < head_dim; ++t) std::fill(out + t * ld + n, out + (t + 1) * ld, 0.0f);
}
#endif

// Reductions over n (a multiple of 16) floats in 16 running lanes, then the lanes pairwise
// (8 + 8, 4 + 4, ...), so the rounding is fixed. A row of scores is short (64 keys: four vectors)
// and the pairwise end costs as much as the rest; with AVX-512 it stays in registers, where the
// compiler's vectorisation of the plain loops wrote the lanes out and read them back: the fused
// softmax forward at L = 49 in 0.91x the time (sweep bench --attention, fmnist-mini, 1 thread, 5
// pairs in alternation). Both versions give the same bits: _mm512_max_ps(x, m) is std::max(m, x),
// NaN and signed zeros included, and each addition adds the same two operands.
#if defined(__AVX512F__)
// GCC 12 warns inside its own headers (see transpose_16x16.hpp): _mm512_max_ps and the extracts
// pass an undefined vector as the merge source of a mask they do not use.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// combine(high half, low half) down to one lane.
template <typename Combine>
float combine_lanes_pairwise(__m512 lanes, Combine combine) {
  const __m256 eight = combine(_mm512_extractf32x8_ps(lanes, 1), _mm512_castps512_ps256(lanes));
  const __m128 four = combine(_mm256_extractf128_ps(eight, 1), _mm256_castps256_ps128(eight));
  const __m128 two = combine(_mm_movehl_ps(four, four), four);
  return _mm_cvtss_f32(combine(_mm_movehdup_ps(two), two));
}

float lane_max(const float* x, int64_t n) {
  __m512 lanes = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t j = 0; j < n; j += kLanes) lanes = _mm512_max_ps(_mm512_loadu_ps(x + j), lanes);
  return combine_lanes_pairwise(lanes, [](auto high, auto low) {
    if constexpr (sizeof(high) == sizeof(__m256))
      return _mm256_max_ps(high, low);
    else
      return _mm_max_ps(high, low);
  });
}

float lane_sum(const float* x, int64_t n) {
  __m512 lanes = _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j += kLanes) lanes = _mm512_add_ps(lanes, _mm512_loadu_ps(x + j));
  return combine_lanes_pairwise(lanes, [](auto high, auto low) {
    if constexpr (sizeof(high) == sizeof(__m256))
      return _mm256_add_ps(low, high);
    else
      return _mm_add_ps(low, high);
  });
}
#pragma GCC diagnostic pop
#else
float lane_max(const float* x, int64_t n) {
  float lanes[kLanes];
  std::fill(lanes, lanes + kLanes, -std::numeric_limits<float>::infinity());
  for (int64_t j = 0; j < n; j += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) lanes[l] = std::max(lanes[l], x[j + l]);
  }
  for (int64_t width = kLanes / 2; width > 0; width /= 2) {
    for (int64_t l = 0; l < width; ++l) lanes[l] = std::max(lanes[l], lanes[l + width]);
  }
  return lanes[0];
}

float lane_sum(const float* x, int64_t n) {
  float lanes[kLanes] = {};
  for (int64_t j = 0; j < n; j += kLanes) {
    for (int64_t l = 0; l < kLanes; ++l) lanes[l] += x[j + l];
  }
  for (int64_t width = kLanes / 2; width > 0; width /= 2) {
    for (int64_t l = 0; l < width; ++l) lanes[l] += lanes[l + width];
  }
  return lanes[0];
}
#endif

// x[j] = exp(x[j] - shift) for j < n (a multiple of 16); returns their sum, summed as lane_sum.
float exp_and_sum(float* x, int64_t n, float shift) {
  for (int64_t j = 0; j < n; ++j) x[j] = vmath::exp(x[j] - shift);
  return lane_sum(x, n);
}

// A tile of scores: `rows` query rows, `ld` apart; the first `keys` columns are real, the rest
// up to `padded` (a multiple of 16) are padding.
struct ScoreTile {
  float* data;
  int64_t rows, keys, padded;

  float* row(int64_t r) const { return data + r * padded; }
};

// What differs between the attention functions, one tile at a time; the loops around it
// (forward_head, backward_head) are shared.
//
// Point-wise: P = h(S); the length scale c multiplies the output once, at the end.
template <typename H>
class PointwiseWeights {
 public:
  PointwiseWeights(float length_scale, float score_scale)
      : c_(length_scale), score_scale_(score_scale) {}

  void start_rows(int64_t) {}
  void to_weights(const ScoreTile& tile, float*, int64_t) {
    for (int64_t r = 0; r < tile.rows; ++r) {
      float* s = tile.row(r);
      for (int64_t j = 0; j < tile.keys; ++j) s[j] = H::value(s[j]);
    }
  }
  void finish_rows(const float* acc, int64_t rows, int64_t head_dim, float* out, int64_t out_stride,
                   float*) {
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t t = 0; t < head_dim; ++t) out[r * out_stride + t] = c_ * acc[r * head_dim + t];
    }
  }

  void start_backward_rows(const float*, const float*, int64_t, const float*, int64_t, int64_t) {}
  // scores -> c h(S) (for dV); d_scores: dP -> the score gradient times the score scale
  // (for dQ and dK), c h'(S) dP / sqrt(d).
  void to_gradients(const ScoreTile& scores, const ScoreTile& d_scores) {
    const float dscale = c_ * score_scale_;
    for (int64_t r = 0; r < scores.rows; ++r) {
      float* __restrict__ s = scores.row(r);
      float* __restrict__ ds = d_scores.row(r);
      for (int64_t j = 0; j < scores.keys; ++j) {
        ds[j] = dscale * H::derivative(s[j]) * ds[j];
        s[j] = c_ * H::value(s[j]);
      }
    }
  }

 private:
  float c_, score_scale_;
};

// Online softmax (Milakov & Gimelshein 2018; FlashAttention): per query row a running max m and
// sum l of exp(s - m); when a key tile raises m, the partial sum and output are rescaled.
class SoftmaxWeights {
 public:
  explicit SoftmaxWeights(float score_scale) : score_scale_(score_scale) {}

  void start_rows(int64_t rows) {
    std::fill(max_, max_ + rows, -std::numeric_limits<float>::infinity());
    std::fill(sum_, sum_ + rows, 0.0f);
  }
  void to_weights(const ScoreTile& tile, float* acc, int64_t head_dim) {
    for (int64_t r = 0; r < tile.rows; ++r) {
      float* s = tile.row(r);
      // Padding columns hold -inf, whose exp is ~1e-38 with vmath's clamp, not 0: it vanishes in
      // l, which is >= 1 (the row's maximum contributes exp(0)); P V never reads them.
      std::fill(s + tile.keys, s + tile.padded, -std::numeric_limits<float>::infinity());
      const float new_max = std::max(max_[r], lane_max(s, tile.padded));
      // At the first tile max_ = -inf: the rescale is ~1e-38, harmless, as l and acc are 0.
      const float rescale = vmath::exp(max_[r] - new_max);
      sum_[r] = sum_[r] * rescale + exp_and_sum(s, tile.padded, new_max);
      max_[r] = new_max;
      if (rescale != 1.0f) {
        for (int64_t t = 0; t < head_dim; ++t) acc[r * head_dim + t] *= rescale;
      }
    }
  }
  void finish_rows(const float* acc, int64_t rows, int64_t head_dim, float* out, int64_t out_stride,
                   float* lse) {
    for (int64_t r = 0; r < rows; ++r) {
      const float inverse = 1.0f / sum_[r];
      for (int64_t t = 0; t < head_dim; ++t) {
        out[r * out_stride + t] = acc[r * head_dim + t] * inverse;
      }
      lse[r] = max_[r] + std::log(sum_[r]);
    }
  }

  // D_i = dO_i . O_i (= rowsum(dP * P)), and the rows' log-sum-exp.
  void start_backward_rows(const float* d_out, const float* out, int64_t stride, const float* lse,
                           int64_t rows, int64_t head_dim) {
    for (int64_t r = 0; r < rows; ++r) {
      float dot = 0.0f;
      for (int64_t t = 0; t < head_dim; ++t) dot += d_out[r * stride + t] * out[r * stride + t];
      max_[r] = lse[r];
      sum_[r] = dot;
    }
  }
  // scores -> P = exp(S - lse) (for dV); d_scores: dP -> P (dP - D) / sqrt(d) (for dQ and dK).
  void to_gradients(const ScoreTile& scores, const ScoreTile& d_scores) {
    for (int64_t r = 0; r < scores.rows; ++r) {
      float* __restrict__ s = scores.row(r);
      float* __restrict__ ds = d_scores.row(r);
      const float lse = max_[r], d = sum_[r];
      for (int64_t j = 0; j < scores.keys; ++j) {
        const float p = vmath::exp(s[j] - lse);
        s[j] = p;
        ds[j] = score_scale_ * p * (ds[j] - d);
      }
    }
  }

 private:
  float score_scale_;
  // Forward: running max and sum per row. Backward: lse and D per row.
  float max_[kMaxQueryRows];
  float sum_[kMaxQueryRows];
};

// Where one (image, head) starts: in the [B, N, H*hd] buffers and in lse [B, H, N].
struct HeadOffsets {
  int64_t rows;
  int64_t lse;
};

HeadOffsets head_offsets(const AttentionCoreShape& s, int64_t index) {
  const int64_t b = index / s.heads, h = index % s.heads;
  return {b * s.tokens * s.width() + h * s.head_dim, index * s.tokens};
}

// Asks for one head's rows (of the [B, N, H*hd] buffers) to come into L2: a head's rows are
// `stride` apart, interleaved with the other heads', so the next head is requested while this
// one computes rather than met as cache misses by its first tiles.
void prefetch_head(const AttentionCoreShape& s, int64_t offset,
                   std::initializer_list<const float*> buffers) {
  for (const float* buffer : buffers) {
    const float* rows = buffer + offset;
    for (int64_t j = 0; j < s.tokens; ++j) {
      for (int64_t t = 0; t < s.head_dim; t += kLanes) {
        __builtin_prefetch(rows + j * s.width() + t, /*rw=*/0, /*locality=*/2);
      }
    }
  }
}
float score_scale_of(const AttentionCoreShape& s) {
  return 1.0f / std::sqrt(static_cast<float>(s.head_dim));
}

// Whether the keys take one tile, so that a head's scores are one [N, round_up(N)] block the
// forward can keep for the backward.
bool keys_fit_one_tile(int64_t tokens) { return Tiling(tokens, kKeyTile).count == 1; }

// Head `index`'s block of the kept scores; nullptr when none are kept or the keys take more than
// one tile (the backward then recomputes them).
template <typename T>
T* kept_scores_of_head(const AttentionCoreShape& s, T* kept_scores, int64_t index) {
  if (!kept_scores || !keys_fit_one_tile(s.tokens)) return nullptr;
  return kept_scores + index * s.tokens * round_up_to_lanes(s.tokens);
}

// kept (nullptr: none): where the forward copies this head's scores S for the backward, [N, ld]
// with ld = round_up_to_lanes(N); only when the keys fit one tile.
template <typename Weights>
void forward_head(const AttentionCoreShape& s, Weights weights, const float* q, const float* k,
                  const float* v, float* out, float* lse, float* kept) {
  const int64_t n = s.tokens, hd = s.head_dim, stride = s.width();
  const int64_t ld_keys = round_up_to_lanes(n);
  float* keys_t =
      thread_scratch(hd * ld_keys + kMaxQueryRows * kMaxKeyColumns + kMaxQueryRows * hd);
  float* scores = keys_t + hd * ld_keys;
  float* acc = scores + kMaxQueryRows * kMaxKeyColumns;
  // The score scale rides on the packed keys: S = Q (K / sqrt(d))^T.
  pack_transposed(k, stride, n, hd, score_scale_of(s), keys_t, ld_keys);
  const Tiling query_tiles(n, kQueryTile), key_tiles(n, kKeyTile);
  for (int64_t qt = 0; qt < query_tiles.count; ++qt) {
    const int64_t i0 = query_tiles.begin(qt), rows = query_tiles.end(qt) - i0;
    std::fill(acc, acc + rows * hd, 0.0f);
    weights.start_rows(rows);
    for (int64_t kt = 0; kt < key_tiles.count; ++kt) {
      const int64_t j0 = key_tiles.begin(kt), keys = key_tiles.end(kt) - j0;
      const ScoreTile tile{scores, rows, keys, round_up_to_lanes(keys)};
      tile_gemm(rows, tile.padded, hd, {q + i0 * stride, stride, 1}, keys_t + j0, ld_keys,
                tile.data, tile.padded, /*accumulate=*/false);
      if (kept) std::copy(tile.data, tile.data + rows * tile.padded, kept + i0 * tile.padded);
      weights.to_weights(tile, acc, hd);
      tile_gemm(rows, hd, keys, {tile.data, tile.padded, 1}, v + j0 * stride, stride, acc, hd,
                /*accumulate=*/true);
    }
    weights.finish_rows(acc, rows, hd, out + i0 * stride, stride, lse ? lse + i0 : nullptr);
  }
}

// kept: the forward's scores of this head (nullptr: recomputed here, tile by tile).
template <typename Weights>
void backward_head(const AttentionCoreShape& s, Weights weights, const float* q, const float* k,
                   const float* v, const float* out, const float* lse, const float* kept,
                   const float* d_out, float* dq, float* dk, float* dv) {
  const int64_t n = s.tokens, hd = s.head_dim, stride = s.width();
  const int64_t ld_keys = round_up_to_lanes(n);
  float* keys_t =
      thread_scratch(2 * hd * ld_keys + 2 * kMaxQueryRows * kMaxKeyColumns + kMaxQueryRows * hd);
  float* values_t = keys_t + hd * ld_keys;
  float* scores = values_t + hd * ld_keys;
  float* d_scores = scores + kMaxQueryRows * kMaxKeyColumns;
  float* dq_acc = d_scores + kMaxQueryRows * kMaxKeyColumns;
  if (!kept) pack_transposed(k, stride, n, hd, score_scale_of(s), keys_t, ld_keys);
  pack_transposed(v, stride, n, hd, 1.0f, values_t, ld_keys);
  const Tiling query_tiles(n, kQueryTile), key_tiles(n, kKeyTile);
  for (int64_t qt = 0; qt < query_tiles.count; ++qt) {
    const int64_t i0 = query_tiles.begin(qt), rows = query_tiles.end(qt) - i0;
    const float* q_rows = q + i0 * stride;
    const float* d_out_rows = d_out + i0 * stride;
    weights.start_backward_rows(d_out_rows, out + i0 * stride, stride, lse ? lse + i0 : nullptr,
                                rows, hd);
    for (int64_t kt = 0; kt < key_tiles.count; ++kt) {
      const int64_t j0 = key_tiles.begin(kt), keys = key_tiles.end(kt) - j0;
      const int64_t padded = round_up_to_lanes(keys);
      const ScoreTile tile{scores, rows, keys, padded}, d_tile{d_scores, rows, keys, padded};
      // S = Q K^T / sqrt(d) as the forward kept it, or recomputed exactly as there; dP = dO V^T.
      if (kept) {
        std::copy(kept + i0 * padded, kept + (i0 + rows) * padded, tile.data);
      } else {
        tile_gemm(rows, padded, hd, {q_rows, stride, 1}, keys_t + j0, ld_keys, tile.data, padded,
                  /*accumulate=*/false);
      }
      tile_gemm(rows, padded, hd, {d_out_rows, stride, 1}, values_t + j0, ld_keys, d_tile.data,
                padded, /*accumulate=*/false);
      weights.to_gradients(tile, d_tile);
      // dV_j += A^T dO_i, dQ_i += dS K_j, dK_j += dS^T Q_i (dS already carries 1/sqrt(d)); dQ_i
      // is summed over the key tiles in dq_acc (its first tile writes), then added to dq.
      tile_gemm(keys, hd, rows, {tile.data, 1, padded}, d_out_rows, stride, dv + j0 * stride,
                stride, /*accumulate=*/true);
      tile_gemm(rows, hd, keys, {d_tile.data, padded, 1}, k + j0 * stride, stride, dq_acc, hd,
                /*accumulate=*/kt > 0);
      tile_gemm(keys, hd, rows, {d_tile.data, 1, padded}, q_rows, stride, dk + j0 * stride, stride,
                /*accumulate=*/true);
    }
    for (int64_t r = 0; r < rows; ++r) {
      float* dq_row = dq + (i0 + r) * stride;
      for (int64_t t = 0; t < hd; ++t) dq_row[t] += dq_acc[r * hd + t];
    }
  }
}

// Calls fn(weights) with the Weights policy of the shape's attention function.
template <typename Fn>
void with_attention_weights(const AttentionCoreShape& s, Fn&& fn) {
  const float score_scale = score_scale_of(s);
  if (s.function.is_softmax()) {
    fn(SoftmaxWeights(score_scale));
    return;
  }
  with_activation(*s.function.pointwise,
                  [&](auto h) { fn(PointwiseWeights<decltype(h)>(s.length_scale, score_scale)); });
}

}  // namespace

int64_t fused_attention_kept_score_floats(const AttentionCoreShape& s) {
  if (!keys_fit_one_tile(s.tokens)) return 0;
  return s.batch * s.heads * s.tokens * round_up_to_lanes(s.tokens);
}

void fused_attention_forward(const AttentionCoreShape& s, const float* q, const float* k,
                             const float* v, float* out, float* lse, float* kept_scores) {
  with_attention_weights(s, [&](auto weights) {
    parallel_ranges(s.batch * s.heads, 1, [&](int64_t begin, int64_t end) {
      for (int64_t index = begin; index < end; ++index) {
        const HeadOffsets at = head_offsets(s, index);
        if (index + 1 < end) prefetch_head(s, head_offsets(s, index + 1).rows, {q, k, v});
        forward_head(s, weights, q + at.rows, k + at.rows, v + at.rows, out + at.rows,
                     lse ? lse + at.lse : nullptr, kept_scores_of_head(s, kept_scores, index));
      }
    });
  });
}

void fused_attention_backward(const AttentionCoreShape& s, const float* q, const float* k,
                              const float* v, const float* out, const float* lse,
                              const float* kept_scores, const float* d_out, float* dq, float* dk,
                              float* dv) {
  with_attention_weights(s, [&](auto weights) {
    parallel_ranges(s.batch * s.heads, 1, [&](int64_t begin, int64_t end) {
      for (int64_t index = begin; index < end; ++index) {
        const HeadOffsets at = head_offsets(s, index);
        if (index + 1 < end) {
          prefetch_head(s, head_offsets(s, index + 1).rows, {q, k, v, out, d_out});
        }
        backward_head(s, weights, q + at.rows, k + at.rows, v + at.rows, out + at.rows,
                      lse ? lse + at.lse : nullptr, kept_scores_of_head(s, kept_scores, index),
                      d_out + at.rows, dq + at.rows, dk + at.rows, dv + at.rows);
      }
    });
  });
}

void fused_attention_scores(const AttentionCoreShape& s, const float* q, const float* k,
                            float* scores) {
  const int64_t n = s.tokens, hd = s.head_dim, ld_keys = round_up_to_lanes(n);
  parallel_ranges(s.batch * s.heads, 1, [&](int64_t begin, int64_t end) {
    float* keys_t = thread_scratch(hd * ld_keys);
    for (int64_t index = begin; index < end; ++index) {
      const HeadOffsets at = head_offsets(s, index);
      pack_transposed(k + at.rows, s.width(), n, hd, score_scale_of(s), keys_t, ld_keys);
      // Each score is the same ordered sum as in the tiles, whatever the blocking.
      tile_gemm(n, n, hd, {q + at.rows, s.width(), 1}, keys_t, ld_keys, scores + index * n * n, n,
                /*accumulate=*/false);
    }
  });
}

}  // namespace vitsweep::engine
