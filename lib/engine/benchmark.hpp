// Training throughput on named configurations, with a per-phase breakdown and the oneDNN f32 GEMM
// ceiling measured in the same run (for model-FLOP utilisation). Random data of the right shape:
// the speed of a step does not depend on the pixels.
#pragma once

#include <string>
#include <vector>

#include "common/json.hpp"
#include "config/trial_config.hpp"

namespace vitsweep::engine {

struct BenchmarkCase {
  std::string name;  // "fmnist-mini", "S/16-224"
  OrderedJson settings;  // trial config keys
};

// The named cases: fmnist-mini (the default Fashion-MNIST model, batch 128), S/16-224 (ViT-S/16
// at 224x224x3, 1000 classes, batch 16), S/8-224 (784 tokens, batch 4).
const std::vector<BenchmarkCase>& benchmark_cases();

struct BenchmarkOptions {
  int warmup_steps = 3;
  int steps = 10;
};

// Times forward + backward + optimizer steps; returns one JSON object for the case.
OrderedJson benchmark_training(const BenchmarkCase& bench, const std::string& attn,
                               const BenchmarkOptions& options);

// GFLOP/s of a large f32 oneDNN matmul (m = n = k = size) on the current threads.
double measure_gemm_ceiling_gflops(int size = 1024, int repeats = 20);

}  // namespace vitsweep::engine
