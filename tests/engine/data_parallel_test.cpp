// DataParallel without MPI, on an in-process ReplicaGroup whose "ranks" all hold the same
// values: the gradient-ready hook covers the gradient buffer exactly once from its end, buckets
// are contiguous and as large as asked, and the averaged gradient of identical replicas is the
// single-process gradient bit for bit. (Real ranks under mpirun: tests/cluster.)
#include "engine/data_parallel.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <utility>
#include <vector>

#include "engine/model_fixture.hpp"
#include "support/thrown.hpp"

namespace vitsweep::engine {
namespace {

using ::testing::HasSubstr;

// `size` replicas that all hold what this one holds: a sum multiplies by size.
class IdenticalReplicas final : public ReplicaGroup {
 public:
  explicit IdenticalReplicas(int size) : size_(size) {}
  int rank() const override { return 0; }
  int size() const override { return size_; }
  void start_sum(float* values, int64_t count) override { floats.emplace_back(values, count); }
  void start_sum(double* values, int64_t count) override { doubles.emplace_back(values, count); }
  void progress() override { ++progress_calls; }
  double wait_all() override {
    for (auto [values, count] : floats) {
      for (int64_t i = 0; i < count; ++i) values[i] *= static_cast<float>(size_);
    }
    for (auto [values, count] : doubles) {
      for (int64_t i = 0; i < count; ++i) values[i] *= size_;
    }
    floats.clear();
    doubles.clear();
    return 0.0;
  }
  std::vector<uint64_t> gather(uint64_t value) override {
    return std::vector<uint64_t>(static_cast<size_t>(size_), value);
  }

  std::vector<std::pair<float*, int64_t>> floats;
  std::vector<std::pair<double*, int64_t>> doubles;
  int64_t progress_calls = 0;

 private:
  int size_;
};

// Every optional tensor (class token, qk-norm, gate) and 3 blocks.
TrialConfig full_config() {
  return testing::tiny_config({{"pool", "cls"}, {"qk_norm", true}, {"gate", "silu"}, {"depth", 3}});
}

struct Model {
  explicit Model(const TrialConfig& config)
      : shape(ModelShape::from_config(config)), model(shape, mm) {
    testing::randomize_parameters(model.layout(), model.parameters().data(), 5);
    const int64_t image_floats = shape.channels * shape.image_height * shape.image_width;
    images.resize(static_cast<size_t>(kBatch * image_floats));
    Random random(3);
    for (float& x : images) x = static_cast<float>(random.normal());
    for (int64_t b = 0; b < kBatch; ++b) labels.push_back(static_cast<int32_t>(b % shape.classes));
    d_logits.resize(static_cast<size_t>(kBatch * shape.classes));
  }
  LossResult forward() {
    const float* logits = model.forward(images.data(), kBatch);
    return classification_loss(LossKind::softmax_xent, logits, labels.data(), kBatch, shape.classes,
                               0.0, d_logits.data());
  }
  static constexpr int64_t kBatch = 4;
  ModelShape shape;
  MatmulRunner mm;
  VisionTransformer model;
  std::vector<float> images, d_logits;
  std::vector<int32_t> labels;
};

TEST(GradientsReady, CoversTheBufferOnceFromItsEnd) {
  Model m(full_config());
  std::vector<std::pair<int64_t, int64_t>> ranges;
  m.model.set_gradients_ready([&](int64_t begin, int64_t end) { ranges.emplace_back(begin, end); });
  m.forward();
  m.model.backward(m.d_logits.data());
  // Head and final norm, each block, the embedding.
  ASSERT_EQ(ranges.size(), static_cast<size_t>(m.shape.depth + 2));
  EXPECT_EQ(ranges.front().second, m.model.gradients().size());
  EXPECT_EQ(ranges.back().first, 0);
  for (size_t i = 1; i < ranges.size(); ++i) {
    EXPECT_EQ(ranges[i].second, ranges[i - 1].first) << "range " << i << " does not adjoin";
    EXPECT_LT(ranges[i].first, ranges[i].second);
  }
  // Each block's range holds exactly that block's tensors.
  for (const TensorInfo& t : m.model.layout().tensors()) {
    if (!t.name.starts_with("blocks.")) continue;
    const int64_t block = std::stoll(t.name.substr(7));
    const auto [begin, end] = ranges[static_cast<size_t>(m.shape.depth - block)];
    EXPECT_GE(t.offset, begin) << t.name;
    EXPECT_LE(t.offset + t.size, end) << t.name;
  }
}

TEST(DataParallel, IdenticalReplicasAverageToTheSingleProcessGradient) {
  const TrialConfig config = full_config();
  Model single(config);
  single.forward();
  single.model.backward(single.d_logits.data());

  Model replica(config);
  IdenticalReplicas group(4);
  DataParallel parallel(group, replica.model, /*bucket_bytes=*/1);
  const LossResult slice = replica.forward();
  parallel.begin_backward(slice, Model::kBatch, replica.d_logits.data(),
                          static_cast<int64_t>(replica.d_logits.size()), false);
  replica.model.backward(replica.d_logits.data());
  const LossResult global = parallel.finish_backward(4 * Model::kBatch);

  // Scaled by 1/4 before backward, summed over 4 equal replicas: exact in binary floating point.
  const FloatBuffer& a = single.model.gradients();
  const FloatBuffer& b = replica.model.gradients();
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), sizeof(float) * a.size()), 0);
  EXPECT_DOUBLE_EQ(global.loss, slice.loss);
  EXPECT_EQ(global.correct, 4 * slice.correct);
  EXPECT_FALSE(parallel.stop_requested());
  // One byte per bucket at least: every ready range went on its own, with progress between.
  EXPECT_EQ(parallel.buckets_per_step(), config.depth + 2);
  EXPECT_GE(group.progress_calls, config.depth + 2);
}

TEST(DataParallel, BucketsAreContiguousAndAtLeastTheBucketSize) {
  const TrialConfig config = full_config();
  for (const int64_t bucket_bytes : {int64_t{1}, int64_t{20000}, int64_t{1} << 40}) {
    Model m(config);
    IdenticalReplicas group(2);
    DataParallel parallel(group, m.model, bucket_bytes);
    parallel.begin_backward(m.forward(), Model::kBatch, m.d_logits.data(),
                            static_cast<int64_t>(m.d_logits.size()), false);
    m.model.backward(m.d_logits.data());
    // The buckets, before wait_all clears them: from the end of the buffer to its start.
    const auto buckets = group.floats;
    ASSERT_FALSE(buckets.empty());
    const float* base = m.model.gradients().data();
    EXPECT_EQ(buckets.front().first + buckets.front().second, base + m.model.gradients().size());
    EXPECT_EQ(buckets.back().first, base);
    for (size_t i = 0; i + 1 < buckets.size(); ++i) {
      EXPECT_EQ(buckets[i + 1].first + buckets[i + 1].second, buckets[i].first);
      EXPECT_GE(buckets[i].second * 4, bucket_bytes) << "bucket " << i << " of " << bucket_bytes;
    }
    if (bucket_bytes > m.model.gradients().size() * 4) {
      EXPECT_EQ(buckets.size(), 1u);
    }
    parallel.finish_backward(2 * Model::kBatch);
    EXPECT_EQ(parallel.buckets_per_step(), static_cast<int64_t>(buckets.size()));
  }
}

TEST(DataParallel, SlicesAndShardsSplitEvenlyInRankOrder) {
  Model m(full_config());
  IdenticalReplicas group(3);
  DataParallel parallel(group, m.model);
  EXPECT_EQ(parallel.local_batch(12), 4);
  EXPECT_THAT(testing::thrown_message<UsageError>([&] { parallel.local_batch(128); }),
              HasSubstr("batch_size 128 does not split evenly over 3 ranks"));
  // rank 0 of 3 takes the first third of 10 evaluation images.
  EXPECT_EQ(parallel.shard(10), std::make_pair(int64_t{0}, int64_t{3}));
}

TEST(Checksum, SeesEveryBitAndTheOrder) {
  const std::vector<float> a = {1.0f, 2.0f, 3.0f};
  std::vector<float> b = a;
  EXPECT_EQ(checksum_floats(a.data(), 3), checksum_floats(b.data(), 3));
  uint32_t bits;
  std::memcpy(&bits, &b[2], 4);
  bits ^= 1;  // one unit in the last place of the odd trailing value
  std::memcpy(&b[2], &bits, 4);
  EXPECT_NE(checksum_floats(a.data(), 3), checksum_floats(b.data(), 3));
  const std::vector<float> swapped = {2.0f, 1.0f, 3.0f};
  EXPECT_NE(checksum_floats(a.data(), 3), checksum_floats(swapped.data(), 3));
}

}  // namespace
}  // namespace vitsweep::engine
