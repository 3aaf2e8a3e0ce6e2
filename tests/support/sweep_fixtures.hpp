// Sweep files the end-to-end tests share.
#pragma once

namespace vitsweep::testing {

// Four trials of ~1 s per epoch on one thread (synthetic 16x16 images, micro ViT, 3 epochs):
// long enough to interrupt between epochs, short enough to run many times.
constexpr const char* kSlowSweep = R"({
  "name": "e2e",
  "base": {"dataset": "synthetic", "synthetic_size": 16, "synthetic_train": 4096,
           "synthetic_test": 256, "model": "micro/4", "epochs": 3, "batch_size": 32,
           "warmup_steps": 20},
  "grid": {"attn": ["softmax", "relu"]},
  "seeds": 2
})";

}  // namespace vitsweep::testing
