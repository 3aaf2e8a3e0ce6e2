#include "runner/protocol.hpp"

#include <chrono>

namespace vitsweep::runner {

namespace {

// Every event carries its send time, so the runner can tell how long events take to arrive.
std::string stamped(OrderedJson event) {
  event["t"] =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return event.dump();
}

}  // namespace

std::string encode(const StartEvent& e) {
  return stamped({{"event", "start"},
                  {"epochs_done", e.epochs_done},
                  {"steps_per_epoch", e.steps_per_epoch},
                  {"total_steps", e.total_steps},
                  {"params", e.params},
                  {"flops_per_image", e.flops_per_image}});
}

std::string encode(const ProgressEvent& e) {
  return stamped({{"event", "progress"},
                  {"epoch", e.epoch},
                  {"step", e.step},
                  {"total_steps", e.total_steps},
                  {"loss", e.loss},
                  {"img_per_s", e.img_per_s}});
}

std::string encode(const StepEvent& e) {
  return stamped(
      {{"event", "step"}, {"epoch", e.epoch}, {"step", e.step}, {"loss", e.loss}, {"lr", e.lr}});
}

std::string encode_epoch(const EpochRecord& record, bool replayed) {
  Json json = {{"event", "epoch"}, {"record", to_json(record)}};
  if (replayed) json["replayed"] = true;
  return stamped(std::move(json));
}

std::string encode_end(const TrialOutcome& outcome) {
  return stamped({{"event", "end"}, {"outcome", to_json(outcome)}});
}

std::optional<TrialEvent> decode(const std::string& line) {
  // Too deep a nesting is no protocol message either (and would recurse once per level).
  if (find_excess_nesting(line)) return std::nullopt;
  const Json json = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object() || !json.contains("event")) return std::nullopt;
  TrialEvent e{};
  try {
    const std::string kind = json.value("event", std::string());
    if (json.contains("t") && json["t"].is_number()) e.sent_at = json["t"].get<double>();
    if (kind == "start") {
      e.kind = TrialEvent::Kind::start;
      e.start.epochs_done = json.value("epochs_done", int64_t{0});
      e.start.steps_per_epoch = json.value("steps_per_epoch", int64_t{0});
      e.start.total_steps = json.value("total_steps", int64_t{0});
      e.start.params = json.value("params", int64_t{0});
      e.start.flops_per_image = json.value("flops_per_image", 0.0);
    } else if (kind == "progress") {
      e.kind = TrialEvent::Kind::progress;
      e.progress.epoch = json.value("epoch", int64_t{0});
      e.progress.step = json.value("step", int64_t{0});
      e.progress.total_steps = json.value("total_steps", int64_t{0});
      e.progress.loss = json.value("loss", 0.0);
      e.progress.img_per_s = json.value("img_per_s", 0.0);
    } else if (kind == "step") {
      e.kind = TrialEvent::Kind::step;
      e.step.epoch = json.value("epoch", int64_t{0});
      e.step.step = json.value("step", int64_t{0});
      e.step.loss = json.value("loss", 0.0);
      e.step.lr = json.value("lr", 0.0);
    } else if (kind == "epoch" && json.contains("record")) {
      e.kind = TrialEvent::Kind::epoch;
      e.epoch = epoch_record_from_json(json["record"]);
      e.replayed = json.value("replayed", false);
    } else if (kind == "end" && json.contains("outcome")) {
      e.kind = TrialEvent::Kind::end;
      e.outcome = trial_outcome_from_json(json["outcome"]);
    } else {
      return std::nullopt;
    }
  } catch (const Json::exception&) {
    return std::nullopt;
  }
  return e;
}

}  // namespace vitsweep::runner
