#include "data/epoch_order.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

namespace vitsweep::data {
namespace {

std::vector<uint32_t> identity(uint32_t n) {
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  return order;
}

TEST(EpochOrder, IsAPermutation) {
  for (const int64_t n : {0, 1, 2, 7, 1000}) {
    std::vector<uint32_t> order = epoch_order(n, 42, 3, true);
    std::sort(order.begin(), order.end());
    EXPECT_EQ(order, identity(static_cast<uint32_t>(n))) << "n = " << n;
  }
}

TEST(EpochOrder, DependsOnlyOnSeedAndEpoch) {
  EXPECT_EQ(epoch_order(500, 9, 4, true), epoch_order(500, 9, 4, true));
}

TEST(EpochOrder, DiffersAcrossEpochsAndSeeds) {
  const std::vector<uint32_t> base = epoch_order(500, 9, 0, true);
  EXPECT_NE(base, epoch_order(500, 9, 1, true));
  EXPECT_NE(base, epoch_order(500, 10, 0, true));
  EXPECT_NE(base, identity(500));
}

TEST(EpochOrder, PinnedValuesGuardAgainstSilentChanges) {
  // Resumed runs and published results rely on this exact order on every platform: change the
  // generator only on purpose, and update these values with it.
  EXPECT_THAT(epoch_order(8, 0, 0, true), ::testing::ElementsAre(0, 3, 7, 2, 5, 1, 4, 6));
}

TEST(EpochOrder, EveryPositionIsReachable) {
  // Fisher-Yates without bias: over many epochs, item 0 lands in each of 4 places ~1/4 of the time.
  std::vector<int> where(4, 0);
  for (int64_t epoch = 0; epoch < 4000; ++epoch) {
    const std::vector<uint32_t> order = epoch_order(4, 1, epoch, true);
    ++where[static_cast<size_t>(std::find(order.begin(), order.end(), 0u) - order.begin())];
  }
  for (const int count : where) EXPECT_NEAR(count, 1000, 120);
}

TEST(EpochOrder, IdentityWithoutShuffle) {
  EXPECT_EQ(epoch_order(100, 9, 4, false), identity(100));
  EXPECT_TRUE(epoch_order(0, 9, 4, false).empty());
}

}  // namespace
}  // namespace vitsweep::data
