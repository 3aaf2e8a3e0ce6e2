// Reproducible randomness: splitmix64 (Steele, Lea & Flood 2014), counter-based, so every value is
// a pure function of its key and position: the same on every platform and thread count.
// std::shuffle and the std distributions are implementation-defined, hence our own.
#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>

namespace vitsweep {

constexpr uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ull;

// The splitmix64 finaliser: a bijection that scrambles every input bit.
constexpr uint64_t mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Combines words into one key: hash_words(seed, epoch, index). Order matters.
template <typename... Words>
constexpr uint64_t hash_words(uint64_t first, Words... rest) {
  uint64_t h = mix64(first + kGoldenGamma);
  ((h = mix64(h ^ mix64(static_cast<uint64_t>(rest) + kGoldenGamma))), ...);
  return h;
}

// FNV-1a: a stable 64-bit hash of a name (for per-tensor random streams).
constexpr uint64_t fnv1a(std::string_view text) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ull;
  }
  return h;
}

// The splitmix64 sequence that starts at `key`.
class Random {
 public:
  explicit Random(uint64_t key) : state_(key) {}

  uint64_t next() {
    state_ += kGoldenGamma;
    return mix64(state_);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, bound), bound > 0, without modulo bias: the top sliver of the 64-bit range
  // that does not split evenly into `bound` buckets is rejected.
  uint64_t below(uint64_t bound) {
    const uint64_t threshold = (0 - bound) % bound;
    while (true) {
      const uint64_t r = next();
      if (r >= threshold) return r % bound;
    }
  }
  // Standard normal by Box-Muller.
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t state_;
};

}  // namespace vitsweep
