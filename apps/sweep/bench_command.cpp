// `sweep bench`: training throughput of named configurations, as JSON.
#include <fmt/format.h>

#include "commands.hpp"
#include "engine/benchmark.hpp"
#include "engine/threads.hpp"

namespace vitsweep::cli {

void add_bench_command(CLI::App& app) {
  CLI::App* bench = app.add_subcommand(
      "bench",
      "Time training steps (forward, backward, AdamW) on named configurations and print JSON:\n"
      "img/s, ms/step, a per-phase breakdown, and model-FLOP utilisation against the oneDNN f32\n"
      "GEMM ceiling measured in the same run, and the process's peak resident memory (one case\n"
      "and one --attn per run for a per-configuration figure). Cases: fmnist-mini, S/16-224,\n"
      "S/8-224. With --attention: the attention core alone (no projections), each function with\n"
      "the fused and the matmul kernel; cases fmnist-mini (L=49), fmnist-mini/2 (L=196),\n"
      "S/16-224-cls (L=197).");
  struct Options {
    engine::BenchmarkRequest request;
    int threads = 0;
  };
  auto o = std::make_shared<Options>();
  engine::BenchmarkRequest& r = o->request;
  bench->add_option("--case", r.cases, "Case to run (repeatable; default fmnist-mini and S/16-224)");
  bench->add_option("--attn", r.attns, "Attention functions to time (repeatable)")
      ->capture_default_str();
  bench->add_option("--threads", o->threads, "Threads (0: all cores)")->capture_default_str();
  bench->add_option("--set", r.options.settings,
                    "KEY=VALUE override of the cases' settings, e.g. attn_kernel=matmul "
                    "(repeatable)");
  bench->add_flag("--attention", r.attention_core,
                  "Time the attention core alone, fused against matmul, instead of training steps");
  bench->add_option("--steps", r.options.steps, "Timed steps per case")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  bench->add_option("--warmup", r.options.warmup_steps, "Untimed steps first")->capture_default_str();
  bench->callback([o] {
    engine::ThreadBudget threads(o->threads);
    o->request.threads = threads.threads();
    const OrderedJson out = engine::run_benchmarks(
        o->request, [](const std::string& line) { fmt::print(stderr, "{}\n", line); });
    fmt::print("{}\n", out.dump(2));
  });
}

}  // namespace vitsweep::cli
