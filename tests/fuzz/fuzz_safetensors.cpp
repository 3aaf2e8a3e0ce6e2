// libFuzzer target for fuzz::safetensors (fuzz_targets.hpp).
#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vitsweep::fuzz::safetensors(std::span<const uint8_t>(data, size));
  return 0;
}
