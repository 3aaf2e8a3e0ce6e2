// `sweep plan`, `sweep run`, `sweep status` and the hidden `sweep worker` (one trial in a child
// process: see lib/runner/protocol.hpp).
#include <fmt/format.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <optional>

#include "cluster/cluster_sweep.hpp"
#include "cluster/mpi_replica_group.hpp"
#include "cluster/mpi_session.hpp"
#include "cluster/slurm.hpp"
#include "commands.hpp"
#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/interrupt.hpp"
#include "common/machine.hpp"
#include "common/terminal.hpp"
#include "common/text.hpp"
#include "report/sweep_status.hpp"
#include "report/sweep_table.hpp"
#include "runner/child_process.hpp"
#include "runner/local_launcher.hpp"
#include "runner/scheduler.hpp"
#include "runner/sweep_run.hpp"
#include "runner/trial_worker.hpp"
#include "store/results_store.hpp"
#include "sweep/expansion.hpp"
#include "sweep/labels.hpp"
#include "sweep/sweep_file.hpp"

namespace vitsweep::cli {

namespace {

namespace fs = std::filesystem;

constexpr const char* kDefaultDb = "results/sweep.db";

struct SweepSource {
  std::string file;
  std::vector<std::string> sets, grids;

  sweep::SweepSpec load() const {
    sweep::SweepSpec spec = sweep::read_sweep_file(file);
    sweep::apply_overrides(spec, sets, grids);
    return spec;
  }
};

void add_source_options(CLI::App* command, SweepSource& source) {
  command->add_option("file", source.file, "Sweep file (JSON), e.g. sweeps/quickstart.json")
      ->required()
      ->check(CLI::ExistingFile);
  command->add_option(
      "--set", source.sets,
      "KEY=VALUE for every trial, after the file (repeatable), e.g. --set epochs=1");
  command->add_option("--grid", source.grids,
                      "KEY=V1,V2,... replaces (or adds) a grid axis (repeatable), e.g. "
                      "--grid alpha=0,0.5,1");
}

bool confirm(uint64_t trials) {
  if (::isatty(STDIN_FILENO) != 1) return false;
  std::fprintf(stderr, "Run up to %llu trials? [y/N] ", static_cast<unsigned long long>(trials));
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}

void print_registration(const sweep::SweepSpec& spec, const runner::PreparedSweep& prepared,
                        const std::string& db) {
  const store::Registration& reg = prepared.registration;
  if (reg.unlinked > 0) {
    fmt::print(stderr,
               "note: {} trial(s) of an earlier version of sweep {} are no longer part of it "
               "(the results of those that ran stay in the database)\n",
               reg.unlinked, spec.name);
  }
  if (reg.dequeued > 0) {
    fmt::print(stderr,
               "note: {} trial(s) that never started and that no sweep holds left the queue\n",
               reg.dequeued);
  }
  const store::StatusCounts& c = prepared.counts;
  fmt::print("sweep {}: {} trials ({} new, {} already finished, {} to run) in {}\n", spec.name,
             reg.trials, reg.new_trials, c.done + c.diverged, c.queued, db);
}

// Finished trials as lines; a live progress line unless quiet.
runner::RunnerListener run_listener(ProgressLine& progress,
                                    const std::map<std::string, std::string>& labels, bool quiet) {
  auto label = [&labels](const std::string& hash) {
    return labels.count(hash) ? labels.at(hash) : hash;
  };
  runner::RunnerListener listener;
  listener.on_note = [&progress](const std::string& text) {
    progress.print(stderr, "note: " + text);
  };
  listener.on_trial_finished = [&progress, label](const runner::FinishedTrial& f,
                                                  const store::StatusCounts& c) {
    std::string line = fmt::format("[{}/{}] {:<8} {}", c.done + c.diverged, c.total(),
                                   to_string(f.finish.status), label(f.hash));
    const double acc = f.finish.outcome.final_test.accuracy;
    if (std::isfinite(acc)) line += fmt::format("  test_acc {:.2f}%", 100 * acc);
    line += fmt::format("  {}", format_duration(f.wall_s));
    if (!f.finish.error.empty()) line += "  " + f.finish.error;
    if (f.will_retry) line += "  (will retry)";
    progress.print(stdout, line);
  };
  if (quiet) return listener;
  listener.on_progress = [&progress, label](const runner::RunProgress& p) {
    std::string text = report::describe_counts(p.counts);
    for (const auto& r : p.running) {
      if (r.total_steps > 0) {
        text += fmt::format(" | {} {:.0f}%", label(r.hash), 100.0 * r.step / r.total_steps);
      }
    }
    if (p.eta_seconds >= 0) text += "  ETA " + format_duration(p.eta_seconds);
    progress.update(text);
  };
  return listener;
}

struct RunOptions {
  SweepSource source;
  std::string db = kDefaultDb;
  std::string runs_dir;  // empty: runs/ beside the database
  int jobs = 0, threads = 0;
  bool yes = false, quiet = false;
  store::RunPolicy policy;
  bool fail_fast = false;
  int64_t log_every = 0;
  std::string deadline;  // "" none, a duration from now, or "slurm"
  std::string stats_file;
};

// The unix time by which the run must be done, from --deadline.
double deadline_time(const std::string& when) {
  if (when.empty()) return std::numeric_limits<double>::infinity();
  std::optional<double> left;
  if (when == "slurm") {
    left = cluster::slurm_seconds_left();
    if (!left) return std::numeric_limits<double>::infinity();
  } else {
    left = parse_duration(when);
    if (!left) {
      fail_usage("--deadline '{}': expected a duration such as 3600, 90m or 2h, or 'slurm'", when);
    }
  }
  return store::unix_now() + *left;
}

runner::SchedulerOptions scheduler_options(const RunOptions& o) {
  runner::SchedulerOptions options;
  options.max_attempts = o.policy.max_attempts;
  options.fail_fast = o.fail_fast;
  options.deadline = deadline_time(o.deadline);
  return options;
}

// Loads the sweep and checks its size, asking when it is large: before anything is stored.
sweep::SweepSpec load_checked_sweep(const RunOptions& o) {
  sweep::SweepSpec spec = o.source.load();
  const uint64_t bound = sweep::grid_size(spec);
  const runner::SizeCheck size = runner::check_sweep_size(bound);
  if (size == runner::SizeCheck::too_many) {
    fail_usage("{}: the grid expands to up to {} trials (more than {}): narrow it", spec.source,
               bound, runner::kMaxTrials);
  }
  if (size == runner::SizeCheck::confirm_first && !o.yes && !confirm(bound)) {
    fail_usage(
        "{}: expands to up to {} trials; pass --yes to run them (or check with `sweep "
        "plan`)",
        spec.source, bound);
  }
  return spec;
}

bool has_data_parallel(const runner::PreparedSweep& prepared) {
  return std::any_of(prepared.trials.begin(), prepared.trials.end(),
                     [](const auto& t) { return t.config.ranks > 1; });
}

runner::RunSummary run_here(const RunOptions& o, const std::string& runs,
                            store::ResultsStore& store, const runner::PreparedSweep& prepared,
                            runner::RunnerListener listener) {
  const auto [jobs, threads] =
      runner::choose_jobs_and_threads(prepared.slots_wanted, available_cores(), o.jobs, o.threads);
  if (prepared.counts.queued > 0) {
    fmt::print("running {} at a time with {} thread{} each{}; trial folders in {}\n", jobs, threads,
               threads == 1 ? "" : "s",
               has_data_parallel(prepared) ? " (a trial with ranks R > 1 takes R of them)" : "",
               runs);
  }
  std::fflush(stdout);
  runner::LocalLauncher launcher({runner::current_executable(), runs, threads, o.log_every}, jobs);
  return runner::Scheduler(store, prepared.registration.sweep_id, launcher, scheduler_options(o),
                           std::move(listener))
      .run();
}

runner::RunSummary run_on_cluster(const RunOptions& o, const std::string& runs,
                                  cluster::MpiSession& session, store::ResultsStore& store,
                                  const runner::PreparedSweep& prepared,
                                  runner::RunnerListener listener) {
  fmt::print("across {} node(s) of an MPI job ({} ranks); trial folders in {}\n",
             session.node_count(), session.size(), runs);
  std::fflush(stdout);
  const cluster::ClusterRun run{o.jobs, o.threads, o.log_every, runs, runner::current_executable()};
  return cluster::coordinate_sweep(session, store, prepared.registration.sweep_id,
                                   prepared.slots_wanted, run, scheduler_options(o),
                                   std::move(listener));
}

// The whole `sweep run` of this process (rank 0 under MPI): prepare, run, print the table.
void run_sweep(const RunOptions& o, cluster::MpiSession& session) {
  const std::string runs =
      fs::absolute(o.runs_dir.empty() ? runner::default_runs_dir(o.db) : o.runs_dir).string();
  sweep::SweepSpec spec;
  std::optional<store::ResultsStore> store;
  runner::PreparedSweep prepared;
  try {
    spec = load_checked_sweep(o);
    store.emplace(o.db);
    prepared = runner::prepare_sweep(*store, spec, o.source.file, o.policy, runs);
    print_registration(spec, prepared, o.db);
    if (has_data_parallel(prepared) && runner::find_on_path("mpirun").empty()) {
      fail(
          "trials with ranks > 1 run under mpirun, which is not on PATH (Debian: apt-get install "
          "openmpi-bin)");
    }
  } catch (const std::exception& e) {
    if (session.active()) cluster::abandon_sweep(session, e.what());
    throw;
  }
  ProgressLine progress;
  const auto labels = sweep::trial_labels(prepared.trials);
  runner::RunnerListener listener = run_listener(progress, labels, o.quiet);
  const runner::RunSummary summary =
      session.active() ? run_on_cluster(o, runs, session, *store, prepared, std::move(listener))
                       : run_here(o, runs, *store, prepared, std::move(listener));
  progress.clear();
  fmt::print("\n{}",
             report::format_text_table(report::sweep_results_table(store->db(), spec.name)));
  fmt::print("{}\n", report::describe_counts(summary.counts));
  std::fflush(stdout);
  if (!o.stats_file.empty()) {
    write_file_atomically(o.stats_file, runner::to_json(summary.stats).dump(2) + "\n");
  }
  if (summary.deadline_reached) {
    fmt::print(stderr, "note: {} trial(s) left queued for the next run (--deadline)\n",
               summary.counts.queued);
  }
  if (summary.interrupted) {
    fail("interrupted: running trials were marked killed and resume on the next `sweep run {}`",
         o.source.file);
  }
  if (summary.counts.failed > 0) {
    fail("{} trial(s) failed; see their log.txt in {} (retry with --retry-failed)",
         summary.counts.failed, runs);
  }
  if (summary.too_wide > 0) {
    fail(
        "{} trial(s) left queued: they set more ranks than the {} slot(s) one machine ran here; "
        "run them with --jobs at least their ranks (a data parallel trial takes one slot per "
        "rank, on one machine)",
        summary.too_wide, summary.widest);
  }
}

}  // namespace

void add_plan_command(CLI::App& app) {
  CLI::App* plan = app.add_subcommand(
      "plan", "Expand a sweep file and print its trials and their count; runs nothing");
  auto source = std::make_shared<SweepSource>();
  auto limit = std::make_shared<int64_t>(100);
  add_source_options(plan, *source);
  plan->add_option("--limit", *limit, "Rows to print (the count is always printed)")
      ->capture_default_str();
  plan->callback([source, limit] {
    const sweep::SweepSpec spec = source->load();
    const uint64_t bound = sweep::grid_size(spec);
    std::vector<sweep::PlannedTrial> shown;
    uint64_t count = 0;
    if (bound <= runner::kMaxTrials) {
      sweep::for_each_trial(spec, [&](const sweep::PlannedTrial& t) {
        if (static_cast<int64_t>(shown.size()) < *limit) shown.push_back(t);
        ++count;
        return true;
      });
    } else {
      sweep::for_each_trial(spec, [&](const sweep::PlannedTrial& t) {
        shown.push_back(t);
        return static_cast<int64_t>(shown.size()) < *limit;
      });
    }
    const auto labels = sweep::trial_labels(shown);
    report::TextTable table;
    table.header = {"#", "trial", "settings"};
    for (const auto& t : shown) {
      table.rows.push_back({std::to_string(t.position), t.hash, labels.at(t.hash)});
    }
    fmt::print("{}", report::format_text_table(table));
    if (bound <= runner::kMaxTrials) {
      if (count > shown.size()) fmt::print("... ({} more)\n", count - shown.size());
      fmt::print("{} trials\n", count);
    } else {
      fmt::print("... up to {} trials (the grid's product; too many to count exactly)\n", bound);
    }
  });
}

void add_run_command(CLI::App& app) {
  CLI::App* run = app.add_subcommand(
      "run",
      "Run a sweep: expand the file, store its trials in the results database and run the ones "
      "not done yet, each in its own process. Safe to interrupt (Ctrl-C) and re-run: finished "
      "trials are kept, interrupted ones resume from their last epoch. Several `sweep run` on one "
      "database share the work. Under mpirun or srun --mpi=pmix the sweep spreads over every "
      "node of the job: rank 0 keeps the database, each node runs trials on its own cores.");
  auto o = std::make_shared<RunOptions>();
  add_source_options(run, o->source);
  run->add_option("--db", o->db, "Results database (SQLite on a local disk)")
      ->capture_default_str();
  run->add_option(
      "--runs-dir", o->runs_dir,
      "Trial folders (config, log, checkpoints; default: runs/ beside the database). "
      "Across machines: a shared file system lets a re-queued trial resume on any node");
  run->add_option("--jobs", o->jobs,
                  "Slots per node: trials at once, a trial with ranks R taking R of them (default: "
                  "fill the cores)");
  run->add_option("--threads", o->threads,
                  "Threads per slot: per trial, or per rank of a data parallel trial (default: "
                  "cores / jobs)");
  run->add_flag("--yes,-y", o->yes,
                fmt::format("Run without asking when above {} trials", runner::kConfirmAbove));
  run->add_flag("--force", o->policy.force, "Re-run trials of this sweep that are already done");
  run->add_flag("--retry-failed", o->policy.retry_failed,
                "Give failed trials a fresh set of attempts");
  run->add_option("--max-attempts", o->policy.max_attempts,
                  "Attempts per trial before it stays failed")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  run->add_flag("--fail-fast", o->fail_fast, "Stop the sweep at the first failed trial");
  run->add_option("--log-every", o->log_every,
                  "Also store each trial's batch loss and learning rate every N steps (metrics "
                  "step_loss, step_lr)")
      ->check(CLI::NonNegativeNumber);
  run->add_flag("--quiet,-q", o->quiet,
                "No live progress line (for logs); finished trials still print");
  run->add_option("--deadline", o->deadline,
                  "Claim no trial that would not finish by then, at the pace of those finished: a "
                  "duration from now (3600, 90m, 2h), or 'slurm' for this job's time limit");
  run->add_option("--stats", o->stats_file,
                  "Write the runner's own measurements as JSON: trials, events and database "
                  "writes per second, event latency");
  run->callback([o] {
    // Before anything else, on every rank: SIGTERM from a launcher must stop trials cleanly.
    install_interrupt_handlers();
    cluster::MpiSession session;
    if (session.active() && session.rank() != 0) {
      cluster::take_part_in_sweep(session, runner::current_executable());
      return;
    }
    run_sweep(*o, session);
  });
}

void add_status_command(CLI::App& app) {
  CLI::App* status = app.add_subcommand(
      "status",
      "Show each sweep's trials by status, running trials with their epoch and ETA, and failed "
      "trials with the first line of their error");
  auto db = std::make_shared<std::string>(kDefaultDb);
  auto name = std::make_shared<std::string>();
  status->add_option("--db", *db, "Results database")->capture_default_str();
  status->add_option("--sweep", *name, "Only this sweep");
  status->callback([db, name] {
    store::ResultsStore store(*db, store::Database::Access::read_only);
    fmt::print("{}", report::status_text(store.db(), *name, store::unix_now()));
  });
}

void add_worker_command(CLI::App& app) {
  CLI::App* worker = app.add_subcommand(
      "worker",
      "Run one trial from its folder and report events as JSON lines (used by `sweep run`)");
  worker->group("");  // internal: hidden from --help
  auto dir = std::make_shared<std::string>();
  auto threads = std::make_shared<int>(0);
  auto log_every = std::make_shared<int64_t>(0);
  worker->add_option("dir", *dir, "Trial folder holding config.json")->required();
  worker->add_option("--threads", *threads, "Threads");
  worker->add_option("--log-every", *log_every, "A step event every N steps (0: none)");
  worker->callback([dir, threads, log_every] {
    // Before MPI starts: the runner's SIGUSR1 (via mpirun) must find the handler.
    install_interrupt_handlers();
    std::optional<cluster::MpiSession> session;
    std::optional<cluster::MpiReplicaGroup> replicas;
    if (cluster::started_by_mpi_launcher()) {
      // A data parallel trial's rank under the runner's own mpirun (local_launcher.hpp): it
      // dies with mpirun, as a single worker dies with the runner.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() == 1) throw Error("worker: mpirun ended before this rank started");
      session.emplace();
      replicas.emplace(session->world());
    }
    const int status = runner::run_trial_worker(*dir, *threads, *log_every, stdout,
                                                replicas ? &*replicas : nullptr);
    if (status != 0) throw Error(fmt::format("worker exited with {}", status));
  });
}

}  // namespace vitsweep::cli
