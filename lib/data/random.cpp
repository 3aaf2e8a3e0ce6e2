#include "data/random.hpp"

#include <limits>
#include <numeric>

#include "common/error.hpp"

namespace vitsweep::data {

uint64_t random_key(RandomStream stream, std::initializer_list<uint64_t> counters) {
  uint64_t key = mix64(static_cast<uint64_t>(stream));
  // Mixing each counter before combining keeps (1, 2) and (2, 1) apart.
  for (const uint64_t counter : counters) key = mix64(key ^ mix64(counter + kGoldenGamma));
  return key;
}

std::vector<uint32_t> identity_permutation(int64_t n) {
  if (n < 0 || n > std::numeric_limits<uint32_t>::max()) {
    fail("cannot order {} images: expected 0..{}", n, std::numeric_limits<uint32_t>::max());
  }
  std::vector<uint32_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), uint32_t{0});
  return order;
}

std::vector<uint32_t> random_permutation(int64_t n, uint64_t key) {
  std::vector<uint32_t> order = identity_permutation(n);
  Random random(key);
  for (size_t i = order.size(); i > 1; --i) {
    const size_t j = random.below(i);
    std::swap(order[i - 1], order[j]);
  }
  return order;
}

}  // namespace vitsweep::data
