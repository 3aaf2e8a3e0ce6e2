#include "cluster/cluster_launcher.hpp"

#include <algorithm>
#include <chrono>

#include "common/error.hpp"
#include "common/machine.hpp"

namespace vitsweep::cluster {

namespace {

// How long one look at this node's children may take inside a wait: the latency of a message
// from another node is at most this.
constexpr double kLocalPollSeconds = 0.01;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

ClusterLauncher::ClusterLauncher(MPI_Comm world, runner::WorkerCommand local_command,
                                 int local_jobs, const std::vector<RemoteNode>& nodes)
    : world_(world), local_(std::move(local_command), local_jobs) {
  // Slots interleaved across nodes (each node's first slot, then each node's second...), so
  // trials spread over the nodes when there are fewer of them than slots.
  const std::string here = host_name();
  int most = local_jobs;
  for (const RemoteNode& node : nodes) most = std::max(most, node.hello.jobs);
  for (int i = 0; i < most; ++i) {
    if (i < local_jobs) slots_.push_back({0, i, here, {}});
    for (const RemoteNode& node : nodes) {
      if (i < node.hello.jobs) slots_.push_back({node.rank, i, node.hello.host, {}});
    }
  }
  for (const RemoteNode& node : nodes) node_ranks_.push_back(node.rank);
}

std::optional<runner::LaunchSlot> ClusterLauncher::free_slot() const {
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].hash.empty()) return runner::LaunchSlot{static_cast<int>(i), slots_[i].host};
  }
  return std::nullopt;
}

void ClusterLauncher::start(const runner::LaunchSlot& slot, const runner::TrialLaunch& launch) {
  Slot& s = slots_.at(static_cast<size_t>(slot.index));
  if (!s.hash.empty()) fail("internal: slot {} already runs trial {}", slot.index, s.hash);
  s.hash = launch.hash;
  if (s.rank == 0) {
    local_.start({s.node_slot, s.host}, launch);
  } else {
    send_message(world_, s.rank, MessageTag::start, to_json(StartTrial{s.node_slot, launch}));
  }
}

void ClusterLauncher::take_reports(const std::vector<runner::LaunchReport>& reports,
                                   std::vector<runner::LaunchReport>& out) {
  for (const runner::LaunchReport& r : reports) {
    if (r.kind == runner::LaunchReport::Kind::exited) {
      if (Slot* s = slot_of(r.hash)) s->hash.clear();
    }
    out.push_back(r);
  }
}

std::vector<runner::LaunchReport> ClusterLauncher::wait(double timeout_s) {
  const double deadline = now_seconds() + timeout_s;
  std::vector<runner::LaunchReport> out;
  while (true) {
    const double left = deadline - now_seconds();
    take_reports(local_.wait(std::clamp(left, 0.0, kLocalPollSeconds)), out);
    while (const auto message = receive_message(world_)) {
      if (message->tag != MessageTag::report) {
        fail("internal: rank 0 got an unexpected message (tag {}) from rank {}",
             static_cast<int>(message->tag), message->from);
      }
      take_reports(reports_from_json(message->body), out);
    }
    if (!out.empty() || now_seconds() >= deadline) return out;
  }
}

void ClusterLauncher::stop(const std::string& hash, runner::StopMode mode) {
  const Slot* s = slot_of(hash);
  if (s == nullptr) return;
  if (s->rank == 0) {
    local_.stop(hash, mode);
  } else {
    send_message(world_, s->rank, MessageTag::stop, to_json(StopTrial{hash, mode}));
  }
}

void ClusterLauncher::shut_down_nodes() {
  for (const int rank : node_ranks_) {
    send_message(world_, rank, MessageTag::shutdown, OrderedJson::object());
  }
}

ClusterLauncher::Slot* ClusterLauncher::slot_of(const std::string& hash) {
  for (Slot& s : slots_) {
    if (s.hash == hash) return &s;
  }
  return nullptr;
}

}  // namespace vitsweep::cluster
