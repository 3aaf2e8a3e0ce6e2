// `sweep bench`: training throughput of named configurations, as JSON.
#include <fmt/format.h>

#include <limits>
#include <optional>

#include "cluster/launch.hpp"
#include "cluster/mpi_replica_group.hpp"
#include "cluster/mpi_session.hpp"
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
      "and one --attn per run for a per-configuration figure). Cases: fmnist-mini, fmnist-nano,\n"
      "fmnist-micro (the sweeps' nano/4 and micro/4 with qk-norm), S/16-224, S/8-224.\n"
      "With --attention: the attention core alone (no projections), each function with the\n"
      "fused and the matmul kernel; cases fmnist-mini (L=49), fmnist-mini/2 (L=196),\n"
      "S/16-224-cls (L=197).\n"
      "With --trial: whole trials as a sweep runs them (data loading, training steps, every\n"
      "epoch's test-set evaluation), by default of fmnist-nano and fmnist-micro: 1 epoch, on\n"
      "20,000 images, unless --set says otherwise (--steps, --warmup do not apply).\n"
      "Under mpirun -np R: data parallel steps of the same global batch (rank 0 prints), with the\n"
      "share of step time spent waiting on communication.");
  struct Options {
    engine::BenchmarkRequest request;
    int threads = 0;
    bool vs_pytorch = false;
    int64_t bucket_kib = engine::DataParallel::kDefaultBucketBytes / 1024;
  };
  auto o = std::make_shared<Options>();
  engine::BenchmarkRequest& r = o->request;
  bench->add_option("--case", r.cases,
                    "Case to run (repeatable; default fmnist-mini and S/16-224)");
  bench->add_option("--attn", r.attns, "Attention functions to time (repeatable)")
      ->capture_default_str();
  bench->add_option("--threads", o->threads, "Threads (0: all cores)")->capture_default_str();
  bench->add_option("--set", r.options.settings,
                    "KEY=VALUE override of the cases' settings, e.g. attn_kernel=matmul "
                    "(repeatable)");
  bench->add_flag("--vs-pytorch", o->vs_pytorch,
                  "Time the PyTorch twin (tests/reference/bench_twin.py, /usr/bin/python3) on each "
                  "case and --attn right after the engine, and print the ratio (with --trial: "
                  "its whole trial of the same length)");
  bench->add_flag("--attention", r.attention_core,
                  "Time the attention core alone, fused against matmul, instead of training steps");
  bench->add_flag("--trial", r.whole_trial,
                  "Time whole trials of the cases (load, train, evaluate) instead of training "
                  "steps; e.g. --set epochs=5 for a reduced Fig. 2 trial");
  bench->add_option("--steps", r.options.steps, "Timed steps per case")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  bench->add_option("--warmup", r.options.warmup_steps, "Untimed steps first")
      ->capture_default_str();
  bench
      ->add_option("--micro-batch", r.options.micro_batch,
                   "Images per forward and backward pass: 0 as a trial runs them (on one thread, "
                   "micro-batches whose MLP activation fits 512 KiB; on more, one pass), the batch "
                   "size for one pass over the whole batch (one process; under mpirun each rank "
                   "passes its share at once)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  bench
      ->add_option("--bucket-kib", o->bucket_kib,
                   "Under mpirun: gradient bucket size; 0: one bucket started when backward "
                   "ends (no overlap)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  bench->callback([o] {
    cluster::MpiSession session;
    std::optional<cluster::MpiReplicaGroup> replicas;
    if (session.active()) replicas.emplace(session.world());
    engine::BenchmarkRequest& request = o->request;
    request.options.bucket_bytes =
        o->bucket_kib > 0 ? o->bucket_kib * 1024 : std::numeric_limits<int64_t>::max();
    request.replicas = replicas ? &*replicas : nullptr;
    engine::ThreadBudget threads(o->threads > 0 ? o->threads : cluster::default_threads(session));
    request.threads = threads.threads();
    if (o->vs_pytorch) request.pytorch.emplace();
    // Rank 0 prints; the other ranks only take part.
    const bool reporter = session.rank() == 0;
    const OrderedJson out = engine::run_benchmarks(request, [reporter](const std::string& line) {
      if (reporter) fmt::print(stderr, "{}\n", line);
    });
    if (reporter) fmt::print("{}\n", out.dump(2));
  });
}

}  // namespace vitsweep::cli
