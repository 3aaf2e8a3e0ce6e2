// A trial's status: the one vocabulary of the results database, the runner, the trial protocol
// and the reports. In the database: queued -> running -> done | diverged | failed | killed;
// failed and killed go back to queued on the next run (failed only while attempts are left).
// A trial process itself ends done, diverged or killed (stopped at a step boundary).
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace vitsweep {

enum class TrialStatus { queued, running, done, failed, diverged, killed };

// Every status, in the order status lines list them.
constexpr std::array<TrialStatus, 6> kTrialStatuses = {TrialStatus::done,     TrialStatus::running,
                                                       TrialStatus::queued,   TrialStatus::failed,
                                                       TrialStatus::diverged, TrialStatus::killed};

// "queued", "running", "done", "failed", "diverged", "killed": the text stored and printed.
std::string_view to_string(TrialStatus status);

// The status a text names; nullopt for anything else. "interrupted", what trial processes
// reported before "killed", reads as killed.
std::optional<TrialStatus> parse_trial_status(std::string_view text);

// Finished for good: done or diverged are never run again unless forced.
inline bool is_final(TrialStatus status) {
  return status == TrialStatus::done || status == TrialStatus::diverged;
}

}  // namespace vitsweep
