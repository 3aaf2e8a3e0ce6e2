// Random streams of the data pipeline (order, splits, augmentation, synthetic images), on the
// common splitmix64 generator: every draw is a pure function of (stream, seed, counters).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "common/random.hpp"

namespace vitsweep::data {

// What a draw is for: keeps e.g. the validation split independent of the epoch order.
enum class RandomStream : uint64_t {
  kValidationSplit = 1,
  kTrainSubset = 2,
  kEpochOrder = 3,
  kAugmentation = 4,
  kSyntheticPrototype = 5,
  kSyntheticImage = 6,
};

// One key from a stream and a few counters, e.g. {seed, epoch, index}.
uint64_t random_key(RandomStream stream, std::initializer_list<uint64_t> counters);

// 0, 1, ..., n-1. Indices are 32-bit to halve the memory of orders; larger n is an Error.
std::vector<uint32_t> identity_permutation(int64_t n);

// A permutation of [0, n) by Fisher-Yates, drawn from `key`.
std::vector<uint32_t> random_permutation(int64_t n, uint64_t key);

}  // namespace vitsweep::data
