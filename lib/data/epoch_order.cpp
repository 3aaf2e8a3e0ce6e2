#include "data/epoch_order.hpp"

#include "data/random.hpp"

namespace vitsweep::data {

std::vector<uint32_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle) {
  if (!shuffle) return identity_permutation(n);
  return random_permutation(
      n, random_key(RandomStream::kEpochOrder, {seed, static_cast<uint64_t>(epoch)}));
}

}  // namespace vitsweep::data
