// Data parallelism for one trial, as PyTorch DDP and Horovod do it: every rank of a ReplicaGroup
// holds the whole model, walks the same seeded epoch order and trains on its slice of each global
// batch. The gradients are summed across ranks in f32 buckets, each started (non-blocking) as
// soon as backward has finished its layers, so communication overlaps the rest of the backward;
// every rank then holds the global batch's mean gradient and takes the same optimizer step.
// Weights are never re-broadcast: they start equal (from the seed) and stay equal, which
// check_replicas_equal verifies with a checksum.
//
// Against one process with the same global batch, only the order of the batch reduction differs
// (each rank sums its slice, then the ranks' sums are added), so the results agree to rounding.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

#include "engine/loss.hpp"
#include "engine/optimizer.hpp"
#include "engine/replica_group.hpp"
#include "engine/vit.hpp"

namespace vitsweep::engine {

// Where the time of the steps since the last reset went, on this rank.
struct CommunicationTimes {
  int64_t steps = 0;
  double wait_seconds = 0;  // blocked after backward until every sum was complete
  double call_seconds = 0;  // inside the group's calls during backward (starting, progressing)
};

class DataParallel {
 public:
  // A bucket is started once it holds at least this much: 512 KiB keeps one bucket per block
  // down to the default model (0.75 MiB a block), so only the embedding's small bucket is left
  // when backward ends; larger models send a block per bucket.
  static constexpr int64_t kDefaultBucketBytes = 512 << 10;

  // Hooks into model's backward (set_gradients_ready) until destroyed. Both must outlive it.
  DataParallel(ReplicaGroup& group, VisionTransformer& model,
               int64_t bucket_bytes = kDefaultBucketBytes);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return group_.rank(); }
  int size() const { return group_.size(); }
  ReplicaGroup& group() { return group_; }

  // This rank's share of a global batch (an uneven split is a UsageError) and where its slice
  // starts in the batch: ranks take consecutive slices, in rank order.
  int64_t local_batch(int64_t global_batch) const;
  int64_t slice_start(int64_t global_batch) const { return rank() * local_batch(global_batch); }

  // Before backward, with the loss of this rank's slice and its gradient d_logits [count]:
  // scales d_logits by 1/size (the sum over ranks is then the global batch's mean gradient) and
  // starts summing the slice's loss, correct count and `stop` (a rank asked to stop).
  void begin_backward(const LossResult& slice, int64_t slice_images, float* d_logits, int64_t count,
                      bool stop);
  // After backward: waits until every gradient bucket is summed. Returns the global batch's
  // mean loss and correct count; stop_requested() then says whether any rank asked to stop.
  LossResult finish_backward(int64_t global_batch);
  bool stop_requested() const { return stop_requested_; }
  // This rank's slice through the model: forward, loss, begin_backward, backward,
  // finish_backward. d_logits: [slice_images * classes] of scratch.
  LossResult train_on_slice(LossKind loss, double label_smoothing, const float* images,
                            const int32_t* labels, int64_t slice_images, float* d_logits,
                            int64_t global_batch, bool stop);

  // This rank's share [begin, end) of `count` evaluation images (contiguous, in rank order).
  std::pair<int64_t, int64_t> shard(int64_t count) const;
  // Sums an evaluation's loss sum and correct count over the ranks, in place.
  void sum_evaluation(double& loss_sum, int64_t& correct);
  // Sums a number over the ranks (core seconds, for the trial's total).
  double sum(double value);

  // Throws Error unless every rank holds bit-identical weights and optimizer state (a checksum
  // of each rank's, compared); `when` goes in the message ("initial weights").
  void check_replicas_equal(const Optimizer& optimizer, std::string_view when);

  CommunicationTimes& times() { return times_; }
  int64_t buckets_per_step() const { return buckets_per_step_; }
  int64_t bucket_bytes() const { return bucket_bytes_; }

 private:
  void on_gradients_ready(int64_t begin, int64_t end);

  ReplicaGroup& group_;
  VisionTransformer& model_;
  int64_t bucket_bytes_;
  int64_t pending_begin_ = -1, pending_end_ = -1;  // ready, not yet started; -1: none
  int64_t buckets_started_ = 0, buckets_per_step_ = 0;
  double scalars_[3] = {};  // the slice's loss x images, correct, stop: summed during backward
  bool stop_requested_ = false;
  CommunicationTimes times_;
};

// A 64-bit checksum of a float array's bits (FNV-1a over 64-bit words).
uint64_t checksum_floats(const float* values, int64_t count, uint64_t seed = 0);

}  // namespace vitsweep::engine
