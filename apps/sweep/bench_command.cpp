// `sweep bench`: training throughput of named configurations, as JSON.
#include <fmt/format.h>

#include "commands.hpp"
#include "common/error.hpp"
#include "common/text.hpp"
#include "common/version.hpp"
#include "engine/benchmark.hpp"
#include "engine/threads.hpp"

namespace vitsweep::cli {

void add_bench_command(CLI::App& app) {
  CLI::App* bench = app.add_subcommand(
      "bench",
      "Time training steps (forward, backward, AdamW) on named configurations and print JSON:\n"
      "img/s, ms/step, a per-phase breakdown, and model-FLOP utilisation against the oneDNN f32\n"
      "GEMM ceiling measured in the same run. Cases: fmnist-mini, S/16-224, S/8-224.");
  struct Options {
    std::vector<std::string> cases;
    std::vector<std::string> attn = {"softmax", "relu"};
    int threads = 0;
    engine::BenchmarkOptions run;
  };
  auto o = std::make_shared<Options>();
  bench->add_option("--case", o->cases, "Case to run (repeatable; default fmnist-mini and S/16-224)");
  bench->add_option("--attn", o->attn, "Attention functions to time (repeatable)")
      ->capture_default_str();
  bench->add_option("--threads", o->threads, "Threads (0: all cores)")->capture_default_str();
  bench->add_option("--steps", o->run.steps, "Timed steps per case")->capture_default_str()->check(CLI::PositiveNumber);
  bench->add_option("--warmup", o->run.warmup_steps, "Untimed steps first")->capture_default_str();
  bench->callback([o] {
    engine::ThreadBudget threads(o->threads);
    std::vector<std::string> names = o->cases;
    if (names.empty()) names = {"fmnist-mini", "S/16-224"};
    std::vector<engine::BenchmarkCase> selected;
    std::vector<std::string> known;
    for (const auto& c : engine::benchmark_cases()) known.push_back(c.name);
    for (const auto& name : names) {
      bool found = false;
      for (const auto& c : engine::benchmark_cases()) {
        if (c.name == name) {
          selected.push_back(c);
          found = true;
        }
      }
      if (!found) {
        fail_usage("--case '{}': expected one of {}{}", name, join(known), did_you_mean(name, known));
      }
    }
    const BuildInfo info = build_info();
    OrderedJson out = OrderedJson::object();
    out["engine"] = "vitsweep " + info.version + " (" + info.git_commit + ")";
    out["onednn"] = info.onednn;
    out["cpu_isa"] = info.cpu_isa;
    out["threads"] = threads.threads();
    const double ceiling = engine::measure_gemm_ceiling_gflops();
    out["gemm_ceiling_gflops"] = ceiling;
    out["configs"] = OrderedJson::array();
    for (const auto& c : selected) {
      for (const auto& attn : o->attn) {
        OrderedJson result = engine::benchmark_training(c, attn, o->run);
        result["mfu"] = result["achieved_gflops"].get<double>() / ceiling;
        fmt::print(stderr, "{} {}: {:.1f} img/s, {:.1f} ms/step, MFU {:.0f}%\n", c.name, attn,
                   result["img_per_s"].get<double>(), result["ms_per_step_median"].get<double>(),
                   100 * result["mfu"].get<double>());
        out["configs"].push_back(result);
      }
    }
    fmt::print("{}\n", out.dump(2));
  });
}

}  // namespace vitsweep::cli
