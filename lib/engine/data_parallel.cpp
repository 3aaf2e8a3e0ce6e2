#include "engine/data_parallel.hpp"

#include <chrono>
#include <cmath>
#include <cstring>

#include "common/error.hpp"

namespace vitsweep::engine {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

uint64_t checksum_floats(const float* values, int64_t count, uint64_t seed) {
  constexpr uint64_t kPrime = 0x100000001b3ULL;
  uint64_t hash = 0xcbf29ce484222325ULL ^ seed;
  int64_t i = 0;
  for (; i + 1 < count; i += 2) {
    uint64_t word;
    std::memcpy(&word, values + i, sizeof word);
    hash = (hash ^ word) * kPrime;
  }
  if (i < count) {
    uint32_t last;
    std::memcpy(&last, values + i, sizeof last);
    hash = (hash ^ last) * kPrime;
  }
  return hash;
}

DataParallel::DataParallel(ReplicaGroup& group, VisionTransformer& model, int64_t bucket_bytes)
    : group_(group), model_(model), bucket_bytes_(bucket_bytes) {
  model_.set_gradients_ready(
      [this](int64_t begin, int64_t end) { on_gradients_ready(begin, end); });
}

DataParallel::~DataParallel() { model_.set_gradients_ready(nullptr); }

int64_t DataParallel::local_batch(int64_t global_batch) const {
  if (global_batch % size() != 0) {
    fail_usage(
        "batch_size {} does not split evenly over {} ranks (each rank trains on "
        "batch_size / ranks images of every step): use a multiple of {}",
        global_batch, size(), size());
  }
  return global_batch / size();
}

void DataParallel::begin_backward(const LossResult& slice, int64_t slice_images, float* d_logits,
                                  int64_t count, bool stop) {
  // Exact for a power-of-two number of ranks: then the summed gradients are bit for bit what
  // one process computing the same slices would get.
  const float share = 1.0f / static_cast<float>(size());
  for (int64_t i = 0; i < count; ++i) d_logits[i] *= share;
  scalars_[0] = slice.loss * static_cast<double>(slice_images);
  scalars_[1] = static_cast<double>(slice.correct);
  scalars_[2] = stop ? 1.0 : 0.0;
  // Started first, so every rank starts its sums in the same order.
  group_.start_sum(scalars_, 3);
  pending_begin_ = pending_end_ = -1;
  buckets_started_ = 0;
}

void DataParallel::on_gradients_ready(int64_t begin, int64_t end) {
  const auto start = std::chrono::steady_clock::now();
  // Ranges arrive from the end of the buffer towards its start, each adjoining the last.
  if (pending_begin_ < 0) pending_end_ = end;
  pending_begin_ = begin;
  const int64_t pending_bytes = (pending_end_ - pending_begin_) * int64_t{sizeof(float)};
  if (begin == 0 || pending_bytes >= bucket_bytes_) {
    group_.start_sum(model_.gradients().data() + pending_begin_, pending_end_ - pending_begin_);
    ++buckets_started_;
    pending_begin_ = pending_end_ = -1;
  }
  // Moves the buckets already started while this rank computes the next layers.
  group_.progress();
  times_.call_seconds += seconds_since(start);
}

LossResult DataParallel::finish_backward(int64_t global_batch) {
  if (pending_begin_ >= 0) fail("data parallel: backward ended with gradients not yet summed");
  times_.wait_seconds += group_.wait_all();
  ++times_.steps;
  buckets_per_step_ = buckets_started_;
  stop_requested_ = scalars_[2] > 0;
  LossResult global;
  global.loss = scalars_[0] / static_cast<double>(global_batch);
  global.correct = static_cast<int64_t>(std::llround(scalars_[1]));
  return global;
}

LossResult DataParallel::train_on_slice(LossKind loss, double label_smoothing, const float* images,
                                        const int32_t* labels, int64_t slice_images,
                                        float* d_logits, int64_t global_batch, bool stop) {
  const int64_t classes = model_.shape().classes;
  const float* logits = model_.forward(images, slice_images);
  const LossResult slice =
      classification_loss(loss, logits, labels, slice_images, classes, label_smoothing, d_logits);
  // The global batch's loss is known only once the sums are in, after backward: then every
  // rank decides alike whether the step diverged.
  begin_backward(slice, slice_images, d_logits, slice_images * classes, stop);
  model_.backward(d_logits);
  return finish_backward(global_batch);
}

std::pair<int64_t, int64_t> DataParallel::shard(int64_t count) const {
  const int64_t r = rank(), n = size();
  return {count * r / n, count * (r + 1) / n};
}

void DataParallel::sum_evaluation(double& loss_sum, int64_t& correct) {
  double values[2] = {loss_sum, static_cast<double>(correct)};
  group_.start_sum(values, 2);
  group_.wait_all();
  loss_sum = values[0];
  correct = static_cast<int64_t>(std::llround(values[1]));
}

double DataParallel::sum(double value) {
  group_.start_sum(&value, 1);
  group_.wait_all();
  return value;
}

void DataParallel::check_replicas_equal(const Optimizer& optimizer, std::string_view when) {
  uint64_t hash = checksum_floats(model_.parameters().data(), model_.parameters().size());
  hash = checksum_floats(optimizer.first_moment().data(), optimizer.first_moment().size(), hash);
  hash = checksum_floats(optimizer.second_moment().data(), optimizer.second_moment().size(), hash);
  hash ^= static_cast<uint64_t>(optimizer.steps()) * 0x9e3779b97f4a7c15ULL;
  const std::vector<uint64_t> hashes = group_.gather(hash);
  for (size_t r = 1; r < hashes.size(); ++r) {
    if (hashes[r] != hashes[0]) {
      fail(
          "data parallel: rank {}'s {} differ from rank 0's (checksum {:016x} against {:016x}): "
          "the ranks must run the same program on the same config and files",
          r, when, hashes[r], hashes[0]);
    }
  }
}

}  // namespace vitsweep::engine
