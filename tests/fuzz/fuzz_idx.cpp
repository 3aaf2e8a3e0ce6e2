// libFuzzer target for fuzz::idx (fuzz_targets.hpp).
#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vitsweep::fuzz::idx(std::span<const uint8_t>(data, size));
  return 0;
}
