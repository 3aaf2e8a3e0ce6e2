#include "cluster/cluster_sweep.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "cluster/cluster_launcher.hpp"
#include "cluster/sweep_messages.hpp"
#include "common/error.hpp"
#include "common/interrupt.hpp"
#include "common/machine.hpp"
#include "runner/protocol.hpp"
#include "runner/sweep_run.hpp"

namespace vitsweep::cluster {

namespace {

namespace fs = std::filesystem;

// How long a node worker waits for its trials' output before it looks for messages again.
constexpr double kNodePollSeconds = 0.02;

// The cores a node's ranks may run on together: the union of their CPU affinity masks. The node
// worker widens its own mask to it, so its trials (children inherit the mask) use the node's
// cores even when the launcher bound each rank to one core.
int widen_to_node_cores(MpiSession& session) {
  cpu_set_t mine, node;
  CPU_ZERO(&mine);
  if (::sched_getaffinity(0, sizeof mine, &mine) != 0) return available_cores();
  MPI_Request request = MPI_REQUEST_NULL;
  check_mpi(
      MPI_Iallreduce(&mine, &node, sizeof(cpu_set_t), MPI_BYTE, MPI_BOR, session.node(), &request),
      "MPI_Iallreduce (node cores)");
  wait_all({&request, 1}, "MPI_Iallreduce (node cores)");
  if (session.node_rank() == 0) ::sched_setaffinity(0, sizeof node, &node);
  return std::max(1, CPU_COUNT(&node));
}

NodeHello describe_node(const SweepSetup& setup, int cores) {
  NodeHello hello;
  hello.host = host_name();
  std::tie(hello.jobs, hello.threads) =
      runner::choose_jobs_and_threads(setup.slots_wanted, cores, setup.jobs, setup.threads);
  hello.sees_runs_dir = fs::exists(fs::path(setup.runs_dir) / setup.probe_file);
  return hello;
}

std::vector<RemoteNode> receive_hellos(MpiSession& session) {
  std::vector<RemoteNode> nodes;
  while (static_cast<int>(nodes.size()) < session.node_count() - 1) {
    const auto message = receive_message(session.world());
    if (!message) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      continue;
    }
    if (message->tag != MessageTag::hello) {
      fail("internal: rank 0 expected a node's hello, got tag {} from rank {}",
           static_cast<int>(message->tag), message->from);
    }
    nodes.push_back({message->from, hello_from_json(message->body)});
  }
  return nodes;
}

std::string describe_slots(const NodeHello& node) {
  return fmt::format("{} ({} x {} thread{})", node.host, node.jobs, node.threads,
                     node.threads == 1 ? "" : "s");
}

// What a trial stopped before it started says: an end "killed" and a clean exit, so that rank 0
// records it killed (it resumes on the next run) whether or not it is stopping itself.
void report_never_started(const runner::TrialLaunch& launch, const std::string& host,
                          std::vector<runner::LaunchReport>& reports) {
  TrialOutcome outcome;
  outcome.status = TrialStatus::killed;
  outcome.message = fmt::format("stopped on {} before it started", host);
  reports.push_back(
      {runner::LaunchReport::Kind::line, launch.hash, runner::encode_end(outcome), {}, {}});
  reports.push_back({runner::LaunchReport::Kind::exited, launch.hash, {}, {}, outcome.message});
}

// The node worker's loop: runs what rank 0 starts, stops what it stops, and reports everything
// its trials say; returns at shutdown. Rank 0 sends a trial ahead of a free slot
// (cluster_launcher.cpp): it waits here and starts the moment a slot frees, without a round trip
// to rank 0. SIGTERM (the launcher passes it on) stops its trials at a step boundary; their
// "killed" ends reach rank 0 like any other report, and a waiting trial ends killed unstarted.
void serve_trials(MPI_Comm world, const NodeHello& node, runner::WorkerCommand command) {
  runner::LocalLauncher local(std::move(command), node.jobs);
  std::set<std::string> running;
  std::deque<runner::TrialLaunch> waiting;
  std::vector<runner::LaunchReport> reports;
  bool stopping = false;
  auto start_waiting = [&] {
    while (!stopping && !waiting.empty()) {
      const auto slot = local.free_slot();
      if (!slot || slot->width < runner::trial_ranks(waiting.front().config)) return;
      local.start(*slot, waiting.front());
      running.insert(waiting.front().hash);
      waiting.pop_front();
    }
  };
  while (true) {
    if (!stopping && interrupt_requested()) {
      stopping = true;
      for (const auto& hash : running) local.stop(hash, runner::StopMode::at_step_boundary);
      for (const auto& launch : waiting) report_never_started(launch, node.host, reports);
      waiting.clear();
    }
    for (auto& r : local.wait(kNodePollSeconds)) {
      if (r.kind == runner::LaunchReport::Kind::exited) running.erase(r.hash);
      reports.push_back(std::move(r));
    }
    start_waiting();
    if (!reports.empty()) send_message(world, 0, MessageTag::report, to_json(reports));
    reports.clear();
    while (const auto message = receive_message(world)) {
      if (message->tag == MessageTag::shutdown) return;
      if (message->tag == MessageTag::start) {
        const StartTrial start = start_from_json(message->body);
        if (stopping) {
          report_never_started(start.launch, node.host, reports);
        } else {
          waiting.push_back(start.launch);
          start_waiting();
        }
      } else if (message->tag == MessageTag::stop) {
        const StopTrial stop = stop_from_json(message->body);
        const auto queued = std::find_if(waiting.begin(), waiting.end(),
                                         [&](const auto& l) { return l.hash == stop.hash; });
        if (queued == waiting.end()) {
          local.stop(stop.hash, stop.mode);
          continue;
        }
        report_never_started(*queued, node.host, reports);
        waiting.erase(queued);
      } else {
        fail("internal: a node worker got an unexpected message (tag {}) from rank {}",
             static_cast<int>(message->tag), message->from);
      }
    }
  }
}

}  // namespace

runner::RunSummary coordinate_sweep(MpiSession& session, store::ResultsStore& store,
                                    int64_t sweep_id, int64_t slots_wanted, const ClusterRun& run,
                                    runner::SchedulerOptions options,
                                    runner::RunnerListener listener) {
  SweepSetup setup;
  setup.runs_dir = run.runs_dir;
  setup.probe_file = fmt::format(".probe-{}-{}", host_name(), ::getpid());
  setup.jobs = run.jobs;
  setup.threads = run.threads;
  setup.slots_wanted = slots_wanted;
  setup.log_every = run.log_every;
  const fs::path probe = fs::path(run.runs_dir) / setup.probe_file;
  fs::create_directories(run.runs_dir);
  std::ofstream(probe) << "written by rank 0 to see which nodes share this folder\n";
  broadcast_message(session.world(), 0, to_json(setup));
  const NodeHello here = describe_node(setup, widen_to_node_cores(session));
  const std::vector<RemoteNode> nodes = receive_hellos(session);
  fs::remove(probe);

  auto note = [&](const std::string& text) {
    if (listener.on_note) listener.on_note(text);
  };
  // The first nodes by name, then a count: a notice stays one readable line on 256 nodes.
  constexpr size_t kNodesNamed = 8;
  std::string slots = describe_slots(here);
  int capacity = here.jobs;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (i + 1 < kNodesNamed) slots += ", " + describe_slots(nodes[i].hello);
    capacity += nodes[i].hello.jobs;
  }
  if (nodes.size() + 1 > kNodesNamed) {
    slots += fmt::format(" and {} more", nodes.size() + 1 - kNodesNamed);
  }
  note(fmt::format("{} node(s), {} trials at once: {}", nodes.size() + 1, capacity, slots));
  for (const RemoteNode& node : nodes) {
    if (node.hello.sees_runs_dir) continue;
    note(fmt::format(
        "{} does not see the trial folders in {} (not a shared file system): its trials keep "
        "their checkpoints on its own disk, so a trial re-queued on another node restarts from "
        "scratch",
        node.hello.host, run.runs_dir));
  }
  ClusterLauncher launcher(session.world(),
                           {run.worker_program, run.runs_dir, here.threads, run.log_every},
                           here.jobs, nodes);
  runner::Scheduler scheduler(store, sweep_id, launcher, std::move(options), std::move(listener));
  const runner::RunSummary summary = scheduler.run();
  launcher.shut_down_nodes();
  barrier(session.world());
  return summary;
}

void abandon_sweep(MpiSession& session, const std::string& error) {
  SweepSetup setup;
  setup.error = error.empty() ? "rank 0 failed" : error;
  broadcast_message(session.world(), 0, to_json(setup));
  session.finalize();
}

void take_part_in_sweep(MpiSession& session, const std::string& worker_program) {
  const SweepSetup setup =
      setup_from_json(broadcast_message(session.world(), 0, OrderedJson::object()));
  if (!setup.error.empty()) {
    session.finalize();
    fail("rank {}: stopped, rank 0 could not start the sweep", session.rank());
  }
  const int cores = widen_to_node_cores(session);
  if (session.node_rank() == 0) {
    const NodeHello hello = describe_node(setup, cores);
    if (!hello.sees_runs_dir) fs::create_directories(setup.runs_dir);
    send_message(session.world(), 0, MessageTag::hello, to_json(hello));
    serve_trials(session.world(), hello,
                 {worker_program, setup.runs_dir, hello.threads, setup.log_every});
  }
  barrier(session.world());
}

}  // namespace vitsweep::cluster
