// What the coordinator of a sweep across machines (rank 0, the only process that opens the
// results database) and the node workers (one rank per node) say to each other over MPI. Every
// message is one JSON object sent as bytes under its tag; a node worker's trial processes speak
// the JSON-lines protocol of lib/runner/protocol.hpp, and their lines travel inside REPORT
// messages unchanged.
//
//   setup     rank 0 -> all (broadcast)  what to run: trial folders, worker settings; or the error
//                                        that stopped rank 0 before any trial ran
//   hello     node -> rank 0             its host, its job slots and threads per trial, whether it
//                                        sees the trial folders' probe file (a shared file system)
//   start     rank 0 -> node             run this trial in that slot: hash, full config, attempt
//   stop      rank 0 -> node             stop this trial at a step boundary, or kill it now
//   report    node -> rank 0             what its trials said since the last report: protocol
//                                        lines and exits (status, last log line), in order
//   shutdown  rank 0 -> node             no more trials: leave the loop
#pragma once

#include <mpi.h>

#include <optional>
#include <string>
#include <vector>

#include "common/json.hpp"
#include "runner/trial_launcher.hpp"

namespace vitsweep::cluster {

enum class MessageTag : int { setup = 7001, hello, start, stop, report, shutdown };

struct SweepSetup {
  std::string error;          // not empty: rank 0 failed before running anything; every rank exits
  std::string runs_dir;       // trial folders, as rank 0 names them (absolute)
  std::string probe_file;     // in runs_dir: a node that sees it shares the file system
  int jobs = 0, threads = 0;  // per node, as given on the command line (0: from the node's cores)
  int64_t slots_wanted = 0;   // for the default split of a node's cores (PreparedSweep's)
  int64_t log_every = 0;
};

struct NodeHello {
  std::string host;
  int jobs = 1, threads = 1;
  bool sees_runs_dir = false;
};

// The node starts it in its first free slot, or as soon as one frees.
struct StartTrial {
  runner::TrialLaunch launch;
};

struct StopTrial {
  std::string hash;
  runner::StopMode mode = runner::StopMode::at_step_boundary;
};

OrderedJson to_json(const SweepSetup& setup);
SweepSetup setup_from_json(const Json& json);
OrderedJson to_json(const NodeHello& hello);
NodeHello hello_from_json(const Json& json);
OrderedJson to_json(const StartTrial& start);
StartTrial start_from_json(const Json& json);
OrderedJson to_json(const StopTrial& stop);
StopTrial stop_from_json(const Json& json);
OrderedJson to_json(const std::vector<runner::LaunchReport>& reports);
std::vector<runner::LaunchReport> reports_from_json(const Json& json);

// Sends `message` to `rank` and waits (sleeping, not spinning) until MPI has taken it.
void send_message(MPI_Comm comm, int rank, MessageTag tag, const OrderedJson& message);

struct Received {
  int from = 0;
  MessageTag tag = MessageTag::setup;
  Json body;
};
// A message waiting for this rank, from anyone, with any of the sweep's tags; nullopt if none.
std::optional<Received> receive_message(MPI_Comm comm);

// `message` from `root` to every rank of comm (the root passes its message; the others get it).
OrderedJson broadcast_message(MPI_Comm comm, int root, const OrderedJson& message);

}  // namespace vitsweep::cluster
