// SHA-256 (FIPS 180-4), for content identities that must never change between builds or
// machines: a trial's hash names its folder and its row in every results database.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace vitsweep {

// Incremental form, for data that arrives in pieces.
class Sha256 {
 public:
  Sha256();
  void update(std::string_view data);
  // The 32-byte digest; the object must not be updated afterwards.
  std::array<uint8_t, 32> finish();

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// 64 lowercase hex characters.
std::string sha256_hex(std::string_view data);

}  // namespace vitsweep
