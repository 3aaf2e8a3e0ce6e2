#include "report/sweep_status.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <queue>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/json.hpp"
#include "common/statistics.hpp"
#include "common/text.hpp"
#include "report/sweep_table.hpp"
#include "report/trial_filter.hpp"

namespace vitsweep::report {

namespace {

// Longer lists are cut: a status screen, not a log.
constexpr int64_t kMaxListed = 20;

// What a trial's time depends on, from specific to coarse. A queued trial is expected to take the
// median wall time of the sweep's finished trials that match it on the first of these lists that
// any finished trial matches; the last list, empty, matches every finished trial. The median, not
// the mean: one trial that was paused or ran beside other work for an hour would otherwise set
// the pace of every trial like it.
const std::vector<std::vector<std::string>> kCostKeys = {
    {"dataset", "train_subset", "val_fraction", "width", "depth", "heads", "mlp_dim", "patch",
     "attn", "qk_norm", "gate", "attn_kernel", "epochs", "max_steps", "batch_size", "threads",
     "precision"},
    {"dataset", "train_subset", "width", "depth", "patch", "epochs", "max_steps"},
    {}};

// Expected wall seconds of a trial from the sweep's finished trials of the same cost.
class TrialTimeEstimate {
 public:
  void add_finished(const Json& identity, double wall_s) {
    for (size_t level = 0; level < kCostKeys.size(); ++level) {
      times_[level][signature(identity, kCostKeys[level])].push_back(wall_s);
    }
  }
  // NaN with no finished trial.
  double expected(const Json& identity) const {
    for (size_t level = 0; level < kCostKeys.size(); ++level) {
      const auto it = times_[level].find(signature(identity, kCostKeys[level]));
      if (it != times_[level].end()) return median(it->second);
    }
    return NAN;
  }

 private:
  static std::string signature(const Json& identity, const std::vector<std::string>& keys) {
    std::string text;
    for (const auto& key : keys) {
      text += identity.is_object() && identity.contains(key) ? identity[key].dump() : "-";
      text += '|';
    }
    return text;
  }
  std::vector<std::map<std::string, std::vector<double>>> times_ =
      std::vector<std::map<std::string, std::vector<double>>>(kCostKeys.size());
};

// The pace of the sweep's finished trials, and the expected time of each queued trial in the order
// they will be claimed (NaN where no finished trial gives a pace).
struct SweepPace {
  TrialTimeEstimate finished;
  std::vector<double> queued_times;
};

SweepPace sweep_pace(store::Database& db, int64_t sweep_id) {
  store::Statement trials = db.prepare(
      "SELECT t.status, t.identity, t.wall_s FROM sweep_trials st JOIN trials t ON "
      "t.hash = st.trial_hash WHERE st.sweep_id = ?1 AND t.status IN (?2, ?3) ORDER BY "
      "st.position");
  trials.bind(1, sweep_id)
      .bind(2, to_string(TrialStatus::done))
      .bind(3, to_string(TrialStatus::queued));
  SweepPace pace;
  std::vector<Json> queued;
  while (trials.step()) {
    Json identity = parse_json_data(trials.text(1), "trials.identity");
    if (trials.text(0) == to_string(TrialStatus::queued)) {
      queued.push_back(std::move(identity));
    } else if (!trials.is_null(2)) {
      pace.finished.add_finished(identity, trials.real(2));
    }
  }
  for (const Json& identity : queued) pace.queued_times.push_back(pace.finished.expected(identity));
  return pace;
}

// When the last trial ends if each queued trial goes, in order, to the slot that frees first
// (`slots`: the time left of each running trial).
double sweep_end(std::vector<double> slots, const std::vector<double>& queued) {
  std::priority_queue<double, std::vector<double>, std::greater<>> free_at(slots.begin(),
                                                                           slots.end());
  double end = slots.empty() ? 0 : *std::max_element(slots.begin(), slots.end());
  if (free_at.empty()) free_at.push(0);  // no slot known: one, free now
  for (const double t : queued) {
    const double start = free_at.top();
    free_at.pop();
    free_at.push(start + t);
    end = std::max(end, start + t);
  }
  return end;
}

std::string label(const std::string& identity, const std::vector<std::string>& keys) {
  const Json json = parse_json_data(identity, "trials.identity");
  std::string text;
  if (!json.is_object()) return text;
  for (const auto& key : keys) {
    if (!json.contains(key)) continue;
    const Json& v = json[key];
    const std::string value = v.is_string()         ? v.get<std::string>()
                              : v.is_number_float() ? format_number(v.get<double>())
                                                    : v.dump();
    text += fmt::format("{}{}={}", text.empty() ? "" : " ", key, value);
  }
  return text;
}

std::string first_line(const std::string& text) {
  const std::string line = text.substr(0, text.find('\n'));
  return line.size() > 160 ? line.substr(0, 157) + "..." : line;
}

std::string sweep_status(store::Database& db, int64_t sweep_id, const std::string& sweep,
                         double now) {
  const std::vector<std::string> keys = varying_keys(db, sweep);
  const store::StatusCounts counts = store::status_counts(db, sweep_id);
  const int64_t running = counts.running, queued = counts.queued;
  std::string text = fmt::format("{}: {}\n", sweep, describe_counts(counts));

  store::Statement trials = db.prepare(
      "SELECT t.hash, t.status, t.epochs_done, json_extract(t.identity, '$.epochs'), t.attempts, "
      "t.error, t.heartbeat_at, t.host, "
      "(SELECT avg(value) FROM metrics m WHERE m.trial_hash = t.hash AND m.name = 'epoch_s'), "
      "(SELECT max(time) FROM metrics m WHERE m.trial_hash = t.hash AND m.name = 'epoch_s'), "
      "t.identity, t.started_at "
      "FROM sweep_trials st JOIN trials t ON t.hash = st.trial_hash WHERE st.sweep_id = ?1 AND "
      "t.status NOT IN (?2, ?3) ORDER BY t.status != ?4, st.position");
  // Running trials first, then the ones that ended without finishing.
  trials.bind(1, sweep_id)
      .bind(2, to_string(TrialStatus::done))
      .bind(3, to_string(TrialStatus::queued))
      .bind(4, to_string(TrialStatus::running));
  // Only running trials and the sweep's ETA need the pace of finished ones.
  const SweepPace pace = running > 0 ? sweep_pace(db, sweep_id) : SweepPace{};
  int64_t listed = 0, unlisted = 0;
  std::vector<double> running_left;  // per running trial listed with an ETA
  bool every_running_eta_known = true;
  while (trials.step()) {
    if (listed >= kMaxListed) {
      ++unlisted;
      continue;
    }
    ++listed;
    const std::string status = trials.text(1);
    const bool is_running = status == to_string(TrialStatus::running);
    const int64_t epochs_done = trials.integer(2), epochs = trials.integer(3);
    std::string line = fmt::format("  {:<8} {}  {}", status, trials.text(0).substr(0, 8),
                                   label(trials.text(10), keys));
    if (is_running) {
      line += fmt::format("  epoch {}/{}", epochs_done, epochs);
      const double epoch_s = trials.real(8), last_epoch_at = trials.real(9);
      if (std::isfinite(epoch_s) && epochs_done > 0) {
        double since = std::isfinite(last_epoch_at) ? std::max(0.0, now - last_epoch_at) : 0;
        // Long overdue: the trial resumed, and its last epoch was an earlier attempt's, maybe
        // hours ago. The epoch in progress is then counted whole.
        if (since > 2 * epoch_s) since = 0;
        const double left =
            std::max(0.0, static_cast<double>(epochs - epochs_done) * epoch_s - since);
        running_left.push_back(left);
        line += "  ETA " + format_duration(left);
      } else if (const double expected =
                     pace.finished.expected(parse_json_data(trials.text(10), "trials.identity"));
                 std::isfinite(expected)) {
        // No epoch yet: the time finished trials like it took, less what its first attempt has
        // run (a later attempt's start is not stored: it is counted whole).
        const double elapsed = trials.integer(4) <= 1 && !trials.is_null(11)
                                   ? std::max(0.0, now - trials.real(11))
                                   : 0.0;
        const double left = std::max(0.0, expected - elapsed);
        running_left.push_back(left);
        line += "  ETA ~" + format_duration(left) + " (no epoch yet: the pace of trials like it)";
      } else {
        every_running_eta_known = false;
        line += "  ETA ? (no epoch finished yet)";
      }
      if (!trials.is_null(6)) {
        // The host the trial runs on (another node's under MPI); the heartbeat is its runner's.
        line += fmt::format("  on {}, heartbeat {} ago", trials.text(7),
                            format_duration(std::max(0.0, now - trials.real(6))));
      }
    } else {
      line += fmt::format("  attempt {}", trials.integer(4));
      if (!trials.is_null(5)) line += "  " + first_line(trials.text(5));
    }
    text += line + "\n";
  }
  if (unlisted > 0) text += fmt::format("  ... and {} more\n", unlisted);
  // The rest of the sweep at the pace of its finished trials of the same cost, as many at once
  // as run now (under every runner).
  if (running == 0) return text;
  if (queued == 0) {
    if (running <= kMaxListed && every_running_eta_known) {
      text += fmt::format("  sweep ETA ~{} (nothing queued: the longest running trial's ETA)\n",
                          format_duration(sweep_end(running_left, {})));
    }
    return text;
  }
  // A running trial with no ETA, or not listed, counts as ending now.
  if (running_left.size() < static_cast<size_t>(running)) {
    running_left.resize(static_cast<size_t>(running), 0.0);
  }
  const std::vector<double>& queued_times = pace.queued_times;
  const double queued_time = std::accumulate(queued_times.begin(), queued_times.end(), 0.0);
  if (std::isfinite(queued_time)) {
    text += fmt::format("  sweep ETA ~{} ({} queued, about {} of trial time; {} at a time)\n",
                        format_duration(sweep_end(running_left, queued_times)), queued,
                        format_duration(queued_time), running);
  }
  return text;
}

}  // namespace

std::string describe_counts(const store::StatusCounts& counts) {
  std::string text = fmt::format("{}/{} done", counts.done, counts.total());
  for (const TrialStatus status : kTrialStatuses) {
    if (status != TrialStatus::done && counts.of(status) > 0) {
      text += fmt::format(", {} {}", counts.of(status), to_string(status));
    }
  }
  return text;
}

std::string status_text(store::Database& db, const std::string& sweep, double now) {
  if (!sweep.empty()) resolve_sweep(db, sweep);
  store::Statement sweeps = db.prepare("SELECT id, name FROM sweeps ORDER BY id");
  std::string text;
  while (sweeps.step()) {
    const std::string name = sweeps.text(1);
    if (!sweep.empty() && name != sweep) continue;
    text += sweep_status(db, sweeps.integer(0), name, now);
  }
  if (text.empty()) text = fmt::format("no sweeps in {}\n", db.path());
  return text;
}

}  // namespace vitsweep::report
