// `sweep bench`: training throughput of named configurations, as JSON.
#include <fmt/format.h>

#include <limits>
#include <optional>

#include "cluster/launch.hpp"
#include "cluster/mpi_replica_group.hpp"
#include "cluster/mpi_session.hpp"
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
      "GEMM ceiling measured in the same run, and the process's peak resident memory (one case\n"
      "and one --attn per run for a per-configuration figure). Cases: fmnist-mini, S/16-224,\n"
      "S/8-224. With --attention: the attention core alone (no projections), each function with\n"
      "the fused and the matmul kernel; cases fmnist-mini (L=49), fmnist-mini/2 (L=196),\n"
      "S/16-224-cls (L=197).\n"
      "Under mpirun -np R: data parallel steps of the same global batch (rank 0 prints), with the\n"
      "share of step time spent waiting on communication.");
  struct Options {
    std::vector<std::string> cases;
    std::vector<std::string> attn = {"softmax", "relu"};
    int threads = 0;
    bool attention = false;
    int64_t bucket_kib = engine::DataParallel::kDefaultBucketBytes / 1024;
    engine::BenchmarkOptions run;
  };
  auto o = std::make_shared<Options>();
  bench->add_option("--case", o->cases, "Case to run (repeatable; default fmnist-mini and S/16-224)");
  bench->add_option("--attn", o->attn, "Attention functions to time (repeatable)")
      ->capture_default_str();
  bench->add_option("--threads", o->threads, "Threads (0: all cores)")->capture_default_str();
  bench->add_option("--set", o->run.settings,
                    "KEY=VALUE override of the cases' settings, e.g. attn_kernel=matmul "
                    "(repeatable)");
  bench->add_flag("--attention", o->attention,
                  "Time the attention core alone, fused against matmul, instead of training steps");
  bench->add_option("--steps", o->run.steps, "Timed steps per case")->capture_default_str()->check(CLI::PositiveNumber);
  bench->add_option("--warmup", o->run.warmup_steps, "Untimed steps first")->capture_default_str();
  bench->add_option("--bucket-kib", o->bucket_kib,
                    "Under mpirun: gradient bucket size; 0: one bucket started when backward "
                    "ends (no overlap)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  bench->callback([o] {
    cluster::MpiSession session;
    std::optional<cluster::MpiReplicaGroup> replicas;
    if (session.active()) replicas.emplace(session.world());
    o->run.bucket_bytes = o->bucket_kib > 0 ? o->bucket_kib * 1024
                                            : std::numeric_limits<int64_t>::max();
    // Rank 0 prints; the other ranks only take part.
    const bool reporter = session.rank() == 0;
    engine::ThreadBudget threads(o->threads > 0 ? o->threads : cluster::default_threads(session));
    const std::vector<engine::BenchmarkCase>& cases =
        o->attention ? engine::attention_benchmark_cases() : engine::benchmark_cases();
    std::vector<std::string> known;
    for (const auto& c : cases) known.push_back(c.name);
    std::vector<std::string> names = o->cases;
    if (names.empty()) names = o->attention ? known : std::vector<std::string>{"fmnist-mini", "S/16-224"};
    std::vector<engine::BenchmarkCase> selected;
    for (const auto& name : names) {
      bool found = false;
      for (const auto& c : cases) {
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
    out["ranks"] = session.size();
    const double ceiling = engine::measure_gemm_ceiling_gflops();
    out["gemm_ceiling_gflops"] = ceiling;
    if (!o->run.settings.empty()) out["settings"] = o->run.settings;
    if (o->attention) {
      out["attention_core"] = OrderedJson::array();
      for (const auto& c : selected) {
        OrderedJson result = engine::benchmark_attention_core(c, o->attn, o->run);
        for (const auto& [kernel, by_attn] : result["ms"].items()) {
          for (const auto& [attn, times] : by_attn.items()) {
            fmt::print(stderr, "{} (L={}) {} {}: {:.2f} ms forward + backward\n", c.name,
                       result["tokens"].get<int64_t>(), kernel, attn,
                       times["total"].get<double>());
          }
        }
        out["attention_core"].push_back(result);
      }
      out["peak_rss_mib"] = engine::peak_resident_mib();
      if (reporter) fmt::print("{}\n", out.dump(2));
      return;
    }
    out["configs"] = OrderedJson::array();
    for (const auto& c : selected) {
      for (const auto& attn : o->attn) {
        OrderedJson result =
            engine::benchmark_training(c, attn, o->run, replicas ? &*replicas : nullptr);
        double precision_ceiling = ceiling;
        if (result["precision"] == "bf16") {
          if (!out.contains("bf16_gemm_ceiling_gflops")) {
            out["bf16_gemm_ceiling_gflops"] =
                engine::measure_gemm_ceiling_gflops(engine::Precision::bf16);
          }
          precision_ceiling = out["bf16_gemm_ceiling_gflops"].get<double>();
        }
        // Against the GEMM ceiling of the precision the case ran in.
        result["mfu"] = result["achieved_gflops"].get<double>() / precision_ceiling;
        if (reporter) {
          fmt::print(stderr, "{} {}: {:.1f} img/s, {:.1f} ms/step, MFU {:.0f}%\n", c.name, attn,
                     result["img_per_s"].get<double>(),
                     result["ms_per_step_median"].get<double>(), 100 * result["mfu"].get<double>());
        }
        out["configs"].push_back(result);
      }
    }
    out["peak_rss_mib"] = engine::peak_resident_mib();
    if (reporter) fmt::print("{}\n", out.dump(2));
  });
}

}  // namespace vitsweep::cli
