#include "trial/status.hpp"

namespace vitsweep {

std::string_view to_string(TrialStatus status) {
  switch (status) {
    case TrialStatus::queued: return "queued";
    case TrialStatus::running: return "running";
    case TrialStatus::done: return "done";
    case TrialStatus::failed: return "failed";
    case TrialStatus::diverged: return "diverged";
    case TrialStatus::killed: return "killed";
  }
  return "unknown";
}

std::optional<TrialStatus> parse_trial_status(std::string_view text) {
  for (const TrialStatus status : kTrialStatuses) {
    if (to_string(status) == text) return status;
  }
  if (text == "interrupted") return TrialStatus::killed;
  return std::nullopt;
}

}  // namespace vitsweep
