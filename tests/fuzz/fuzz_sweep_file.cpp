// libFuzzer target for fuzz::sweep_file (fuzz_targets.hpp).
#include "fuzz_targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  vitsweep::fuzz::sweep_file(std::span<const uint8_t>(data, size));
  return 0;
}
