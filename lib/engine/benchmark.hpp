// Training throughput on named configurations, with a per-phase breakdown and the oneDNN f32 GEMM
// ceiling measured in the same run (for model-FLOP utilisation). Random data of the right shape:
// the speed of a step does not depend on the pixels.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/json.hpp"
#include "config/trial_config.hpp"
#include "engine/data_parallel.hpp"
#include "engine/matmul.hpp"
#include "engine/pytorch_twin_bench.hpp"
#include "engine/replica_group.hpp"

namespace vitsweep::engine {

struct BenchmarkCase {
  std::string name;      // "fmnist-mini", "S/16-224"
  OrderedJson settings;  // trial config keys
};

// The named cases: fmnist-mini (the default Fashion-MNIST model, batch 128), fmnist-nano and
// fmnist-micro (nano/4 and micro/4 with qk-norm, batch 128: the sweeps' own trials), S/16-224
// (ViT-S/16 at 224x224x3, 1000 classes, batch 16), S/8-224 (784 tokens, batch 4).
const std::vector<BenchmarkCase>& benchmark_cases();

// Cases for the attention core alone: L = 49 (fmnist-mini, the default Fashion-MNIST model,
// batch 128), L = 196 (fmnist-mini/2: mini with patch 2 on 28x28, batch 32) and L = 197
// (S/16-224-cls: ViT-S/16 at 224 with a class token, batch 16).
const std::vector<BenchmarkCase>& attention_benchmark_cases();

struct BenchmarkOptions {
  int warmup_steps = 3;
  int steps = 10;
  // KEY=VALUE overrides of the case's settings (as `sweep train --set`), applied before `attn`.
  std::vector<std::string> settings;
  // Data parallel only: the gradient bucket size (no overlap: one bucket of everything,
  // started when backward ends).
  int64_t bucket_bytes = DataParallel::kDefaultBucketBytes;
  // Images per forward and backward pass (one process only): 0 as a trial runs them
  // (micro_batch_images for `threads`); the batch size for one pass over the whole batch.
  int64_t micro_batch = 0;
  int threads = 1;
};

// Times forward + backward + optimizer steps; returns one JSON object for the case. With
// `replicas` of more than one rank (every rank calls this), data parallel steps: each rank takes
// batch / ranks images, and the object adds the ranks, the local batch and "communication": the
// gradient megabytes summed per step, the buckets, and the share of step time this rank spent
// waiting for the sums after backward (wait_share) and inside MPI calls during backward
// (call_share).
OrderedJson benchmark_training(const BenchmarkCase& bench, const std::string& attn,
                               const BenchmarkOptions& options, ReplicaGroup* replicas = nullptr);

// Times one whole trial of the case as a sweep's trial runs: the data set loaded from its files,
// the model built, every epoch's training steps (batches gathered from the data set included) and
// its test-set evaluation. In this process, not a fresh one: a later case finds the files in the
// page cache and oneDNN's kernels of its shapes already generated. The case's settings and the
// --set overrides; unless they set them, 1 epoch, on 20,000 training images where the data set
// has files (a reduced sweep's trial). max_steps and a micro-batch size are refused.
// Reports seconds for each part, the share of the evaluation and the whole trial's time.
OrderedJson benchmark_trial(const BenchmarkCase& bench, const std::string& attn,
                            const BenchmarkOptions& options);

// Times the attention core alone (scores -> weights -> A V and back, attention_core_forward and
// _backward; no projections) for every attention function in `attns` with each kernel (fused,
// matmul). The runs take turns, step by step, so machine noise hits them alike; reports median
// ms per forward, backward and both, and the ratios softmax / <each other function> and
// matmul / fused.
OrderedJson benchmark_attention_core(const BenchmarkCase& bench,
                                     const std::vector<std::string>& attns,
                                     const BenchmarkOptions& options);

// A whole `sweep bench` run: the selected cases (by name, `names` empty: the defaults), the GEMM
// ceilings and the process's peak memory, as one JSON document. Training cases get their
// model-FLOP utilisation against the ceiling of the precision they ran in. `log` receives one
// human line per case. Unknown case names throw a UsageError with a did-you-mean. With `pytorch`,
// each training case and attention function is followed by the PyTorch twin on the same case and
// threads; the case's object gains "pytorch" (the twin's object) and "engine_speedup" (the twin's
// mean ms per step over the engine's).
struct BenchmarkRequest {
  std::vector<std::string> cases;
  std::vector<std::string> attns = {"softmax", "relu"};
  bool attention_core = false;  // the attention core alone instead of training steps
  bool whole_trial = false;     // whole trials (benchmark_trial) instead of training steps;
                                // default cases fmnist-nano and fmnist-micro, no GEMM ceiling
  BenchmarkOptions options;
  int threads = 0;                     // the thread budget in force, for the report
  ReplicaGroup* replicas = nullptr;    // under mpirun: data parallel training steps
  std::optional<PytorchTwin> pytorch;  // time the PyTorch twin beside each training case
};
OrderedJson run_benchmarks(const BenchmarkRequest& request,
                           const std::function<void(const std::string&)>& log);

// The process's peak resident set (VmHWM in /proc/self/status) in MiB; 0 where unavailable.
double peak_resident_mib();

// GFLOP/s of a large oneDNN matmul (m = n = k = size) on the current threads, in `precision`
// (bf16: with the conversion of both operands that every engine matmul pays).
double measure_gemm_ceiling_gflops(Precision precision = Precision::f32, int size = 1024,
                                   int repeats = 20);

}  // namespace vitsweep::engine
