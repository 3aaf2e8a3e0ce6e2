// Reproducible randomness: a counter-based generator (splitmix64), so a value depends only on
// (seed, stream, counter) and never on thread count, call order or the standard library.
#pragma once

#include <cmath>
#include <cstdint>
#include <string_view>

namespace vitsweep {

// One splitmix64 step: a bijective 64-bit mix (Steele, Lea & Flood 2014).
constexpr uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Combines words into one key: hash_words(seed, epoch, index).
template <typename... Words>
constexpr uint64_t hash_words(uint64_t first, Words... rest) {
  uint64_t h = mix64(first);
  ((h = mix64(h ^ static_cast<uint64_t>(rest))), ...);
  return h;
}

class Random {
 public:
  explicit Random(uint64_t key) : state_(key) {}

  uint64_t next_u64() { return mix64(state_++); }
  // Uniform in [0, 1) with 53 bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift; bias below 2^-64 * n).
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next_u64()) * n) >> 64);
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

namespace vitsweep {

// FNV-1a: a stable 64-bit hash of a name (for per-tensor random streams).
constexpr uint64_t fnv1a(std::string_view text) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ull;
  }
  return h;
}

}  // namespace vitsweep
