// Sweep files the end-to-end tests share.
#pragma once

#include <fmt/format.h>

#include <string>

namespace vitsweep::testing {

// How much slower this build trains than a Release build: about 4.5x under AddressSanitizer +
// UBSan (MpiSweep's SIGTERM test: 63 s Release, 289 s ASan). The end-to-end tests need trials of
// about a second per epoch (long enough to interrupt inside, short enough to run many times), so
// a sanitized build trains them on a quarter of the images: the same wall time per epoch and the
// same code paths, at a quarter of the work that made the ASan phase the longest part of CI.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr int kSanitizerSlowdown = 4;
#else
inline constexpr int kSanitizerSlowdown = 1;
#endif

// Training images for an epoch of about a second on one thread (micro ViT, 16x16 images).
inline constexpr int kSecondOfTrainingImages = 4096 / kSanitizerSlowdown;

// Four trials of ~1 s per epoch on one thread (synthetic 16x16 images, micro ViT, 3 epochs):
// long enough to interrupt between epochs, short enough to run many times.
inline std::string slow_sweep() {
  return fmt::format(R"({{
  "name": "e2e",
  "base": {{"dataset": "synthetic", "synthetic_size": 16, "synthetic_train": {},
           "synthetic_test": 256, "model": "micro/4", "epochs": 3, "batch_size": 32,
           "warmup_steps": 20}},
  "grid": {{"attn": ["softmax", "relu"]}},
  "seeds": 2
}})",
                     kSecondOfTrainingImages);
}

}  // namespace vitsweep::testing
