// `sweep bench --vs-pytorch`: the PyTorch twin (tests/reference/bench_twin.py) times the same
// case, attention function and threads as the engine, as a subprocess in the same run, so that
// the ratio of the two is measured under the same machine load.
#pragma once

#include <cstdint>
#include <string>

#include "common/json.hpp"

namespace vitsweep::engine {

// The twin's script in the source tree this binary was built from.
std::string default_twin_script();

struct PytorchTwin {
  std::string python = "/usr/bin/python3";  // Debian's, with python3-torch
  std::string script = default_twin_script();
};

// Throws an Error in one line when the script is missing or `python` cannot import torch.
void check_pytorch_twin(const PytorchTwin& twin);

// Runs the twin on one case (a name bench_twin.py knows) and returns its JSON object for it
// ("ms_per_step", "tokens", "batch", ...) plus "torch_version" and "blas". OpenBLAS gets
// `threads` threads, and OPENBLAS_CORETYPE=SkylakeX unless the environment sets it (0.3.21
// misdetects AVX-512 CPUs).
OrderedJson benchmark_pytorch_twin(const PytorchTwin& twin, const std::string& case_name,
                                   const std::string& attn, int threads, int steps, int warmup);

// The twin's whole trial on a Fashion-MNIST case (bench_twin.py --trial): `epochs` epochs on
// `train_subset` images, the test set evaluated after each. Its object has "total_s", "load_s",
// "train_s", "evaluate_s", "train_images", "test_images", "tokens" and "batch".
OrderedJson benchmark_pytorch_twin_trial(const PytorchTwin& twin, const std::string& case_name,
                                         const std::string& attn, int threads, int64_t epochs,
                                         int64_t train_subset);

}  // namespace vitsweep::engine
