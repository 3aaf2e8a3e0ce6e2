// Replays every seed in tests/fuzz/corpus/<target>/ and every input a fuzzer once crashed on
// (tests/fuzz/regressions/<target>/) through the fuzzed entry points, in every build: a fixed
// crash stays fixed. Under the ASan + UBSan build this is also a memory-safety check.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <vector>

#include "fuzz_targets.hpp"
#include "support/temp_dir.hpp"

namespace vitsweep {
namespace {

const std::map<std::string, std::function<void(std::span<const uint8_t>)>> kTargets = {
    {"sweep_file", fuzz::sweep_file},
    {"safetensors", fuzz::safetensors},
    {"idx", fuzz::idx},
    {"cifar", fuzz::cifar}};

TEST(FuzzRegressions, EveryCorpusAndRegressionInputIsHandled) {
  int replayed = 0;
  for (const auto& [target, run] : kTargets) {
    for (const char* kind : {"corpus", "regressions"}) {
      const std::filesystem::path folder =
          std::filesystem::path(VITSWEEP_SOURCE_DIR) / "tests/fuzz" / kind / target;
      if (!std::filesystem::is_directory(folder)) continue;
      for (const auto& entry : std::filesystem::directory_iterator(folder)) {
        const std::string bytes = testing::read_file(entry.path().string());
        SCOPED_TRACE(entry.path().string());
        run(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
        ++replayed;
      }
    }
  }
  EXPECT_GT(replayed, 8) << "the seed corpora are missing";
}

}  // namespace
}  // namespace vitsweep
