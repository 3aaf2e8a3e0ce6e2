// The fuzzed entry points, shared by the libFuzzer targets (fuzz_*.cpp, clang builds) and the
// regression test that replays the corpus and every input a fuzzer ever crashed on
// (fuzz_regressions_test.cpp, every build). Bad input must end in a vitsweep::Error, never a
// crash, a hang or unbounded memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/error.hpp"
#include "common/json.hpp"
#include "data/cifar.hpp"
#include "data/gzip.hpp"
#include "data/idx.hpp"
#include "engine/safetensors.hpp"
#include "sweep/expansion.hpp"
#include "sweep/sweep_file.hpp"

namespace vitsweep::fuzz {

inline void sweep_file(std::span<const uint8_t> bytes) {
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  try {
    const OrderedJson document = parse_json_strict(text, "fuzz.json");
    const sweep::SweepSpec spec = sweep::parse_sweep(document, "fuzz.json");
    sweep::grid_size(spec);
    int visited = 0;
    sweep::for_each_trial(spec, [&](const sweep::PlannedTrial&) { return ++visited < 64; });
  } catch (const Error&) {
  }
}

inline void safetensors(std::span<const uint8_t> bytes) {
  try {
    const auto file = engine::SafetensorsFile::parse(bytes, "fuzz.safetensors");
    for (const auto& t : file.tensors()) {
      if (t.dtype == "F32") file.f32(t.name);
      if (t.dtype == "I64" || t.dtype == "I32") file.integers(t.name);
    }
  } catch (const Error&) {
  }
}

inline void idx(std::span<const uint8_t> bytes) {
  try {
    if (data::is_gzip(bytes)) {
      data::parse_idx(data::gunzip(bytes, "fuzz.gz"), "fuzz");
    } else {
      data::parse_idx({bytes.begin(), bytes.end()}, "fuzz");
    }
  } catch (const Error&) {
  }
}

inline void cifar(std::span<const uint8_t> bytes) {
  try {
    data::parse_cifar(bytes, "fuzz10", 1, 10);
  } catch (const Error&) {
  }
  try {
    data::parse_cifar(bytes, "fuzz100", 2, 100);
  } catch (const Error&) {
  }
}

}  // namespace vitsweep::fuzz
