// The order training images are visited in, one epoch at a time.
#pragma once

#include <cstdint>
#include <vector>

namespace vitsweep::data {

// A permutation of [0, n) that depends only on (seed, epoch) when shuffle is true, so a resumed
// run replays the same order; 0..n-1 when shuffle is false.
std::vector<uint32_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle);

}  // namespace vitsweep::data
