#include "cluster/cluster_launcher.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "common/error.hpp"
#include "common/machine.hpp"

namespace vitsweep::cluster {

namespace {

// How long one look at this node's children may take inside a wait: the latency of a message
// from another node is at most this.
constexpr double kLocalPollSeconds = 0.01;

// Trials each other node holds beyond its slots, started there the moment a slot frees: the
// round trip to rank 0 (the exit's report, the database writes, a new claim, the start message)
// then no longer idles a slot between trials. One hides it for any trial longer than the trip.
constexpr int kTrialsAheadPerNode = 1;
// Only while trials are short: a trial held ahead waits for its node's slot even when another
// node falls idle at the end of the sweep, which may cost up to one trial's length; for trials
// this long the round trip (about 0.1 s) is below 0.2% anyway.
constexpr double kHoldAheadBelowSeconds = 60;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

ClusterLauncher::ClusterLauncher(MPI_Comm world, runner::WorkerCommand local_command,
                                 int local_jobs, const std::vector<RemoteNode>& nodes)
    : world_(world), local_(std::move(local_command), local_jobs), running_capacity_(local_jobs) {
  // Slots interleaved across nodes (each node's first slot, then each node's second...), so
  // trials spread over the nodes when there are fewer of them than slots; the trials held ahead
  // come last, once every node is busy.
  const std::string here = host_name();
  int most = local_jobs;
  for (const RemoteNode& node : nodes) most = std::max(most, node.hello.jobs);
  for (int i = 0; i < most; ++i) {
    if (i < local_jobs) slots_.push_back({0, i, here, {}, false, 0});
    for (const RemoteNode& node : nodes) {
      if (i < node.hello.jobs) slots_.push_back({node.rank, 0, node.hello.host, {}, false, 0});
    }
  }
  for (int i = 0; i < kTrialsAheadPerNode; ++i) {
    for (const RemoteNode& node : nodes) {
      slots_.push_back({node.rank, 0, node.hello.host, {}, /*ahead=*/true, 0});
    }
  }
  for (const RemoteNode& node : nodes) {
    node_ranks_.push_back(node.rank);
    running_capacity_ += node.hello.jobs;
  }
  widest_ = most;
}

bool ClusterLauncher::trials_are_short() const {
  return finished_ > 0 && recent_trial_s_ < kHoldAheadBelowSeconds;
}

std::optional<runner::LaunchSlot> ClusterLauncher::free_slot() const {
  // The first free slot of the node with the most free slots: trials spread over the nodes, and
  // a data parallel trial, which needs several free slots of one node, finds the widest (the
  // scheduler claims a trial as wide as the slot offered, at most).
  std::unordered_map<int, int> free_of_node;
  for (const Slot& s : slots_) free_of_node[s.rank] += !s.ahead && s.hash.empty();
  std::optional<runner::LaunchSlot> widest;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    if (!s.hash.empty() || s.ahead) continue;
    const int width = free_of_node[s.rank];
    if (!widest || width > widest->width) {
      widest = runner::LaunchSlot{static_cast<int>(i), s.host, width};
    }
  }
  if (widest || !trials_are_short()) return widest;
  // Every slot is busy: one held ahead on a node (one-rank trials only).
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].ahead && slots_[i].hash.empty()) {
      return runner::LaunchSlot{static_cast<int>(i), slots_[i].host, 1};
    }
  }
  return std::nullopt;
}

void ClusterLauncher::start(const runner::LaunchSlot& slot, const runner::TrialLaunch& launch) {
  Slot& s = slots_.at(static_cast<size_t>(slot.index));
  if (!s.hash.empty()) fail("internal: slot {} already runs trial {}", slot.index, s.hash);
  s.hash = launch.hash;
  s.started_at = now_seconds();
  // The other slots of its node that a data parallel trial takes (the node picks which).
  int more = runner::trial_ranks(launch.config) - 1;
  for (Slot& other : slots_) {
    if (more == 0) break;
    if (other.rank == s.rank && !other.ahead && other.hash.empty()) {
      other.hash = launch.hash;
      other.started_at = s.started_at;
      --more;
    }
  }
  if (more > 0) fail("internal: trial {} has more ranks than free slots", launch.hash);
  if (s.rank == 0) {
    local_.start({s.node_slot, s.host}, launch);
  } else {
    send_message(world_, s.rank, MessageTag::start, to_json(StartTrial{launch}));
  }
}

void ClusterLauncher::take_reports(const std::vector<runner::LaunchReport>& reports,
                                   std::vector<runner::LaunchReport>& out) {
  for (const runner::LaunchReport& r : reports) {
    if (r.kind == runner::LaunchReport::Kind::exited) {
      if (Slot* s = slot_of(r.hash)) {
        // A running mean over about the last 16 trials (from the start message: a trial held
        // ahead counts its wait too, which only makes trials look longer).
        const double seconds = now_seconds() - s->started_at;
        recent_trial_s_ =
            finished_ == 0 ? seconds : recent_trial_s_ + (seconds - recent_trial_s_) / 16;
        ++finished_;
        for (Slot& taken : slots_) {
          if (taken.hash == r.hash) taken.hash.clear();
        }
      }
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
