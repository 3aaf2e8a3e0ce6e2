#include "runner/protocol.hpp"

namespace vitsweep::runner {

std::string encode(const StartEvent& e) {
  return OrderedJson{{"event", "start"},
                     {"epochs_done", e.epochs_done},
                     {"steps_per_epoch", e.steps_per_epoch},
                     {"total_steps", e.total_steps},
                     {"params", e.params},
                     {"flops_per_image", e.flops_per_image}}
      .dump();
}

std::string encode(const ProgressEvent& e) {
  return OrderedJson{{"event", "progress"},      {"epoch", e.epoch},
                     {"step", e.step},           {"total_steps", e.total_steps},
                     {"loss", e.loss},           {"img_per_s", e.images_per_second}}
      .dump();
}

std::string encode(const StepEvent& e) {
  return OrderedJson{{"event", "step"}, {"epoch", e.epoch}, {"step", e.step}, {"loss", e.loss},
                     {"lr", e.lr}}
      .dump();
}

std::string encode_epoch(const engine::EpochRecord& record) {
  return OrderedJson{{"event", "epoch"}, {"record", engine::to_json(record)}}.dump();
}

std::string encode_end(const engine::TrialOutcome& outcome) {
  return OrderedJson{{"event", "end"}, {"outcome", engine::to_json(outcome)}}.dump();
}

engine::TrialOutcome outcome_from_json(const Json& json) {
  engine::TrialOutcome o;
  o.status = json.value("status", std::string("done"));
  o.message = json.value("message", std::string());
  o.diverged_step = json.value("diverged_step", int64_t{-1});
  o.steps = json.value("steps", int64_t{0});
  o.epochs_done = json.value("epochs_done", int64_t{0});
  if (json.contains("final_test")) o.final_test = engine::evaluation_from_json(json["final_test"]);
  if (json.contains("final_val")) o.final_val = engine::evaluation_from_json(json["final_val"]);
  o.wall_seconds = json.value("wall_seconds", 0.0);
  o.core_seconds = json.value("core_seconds", 0.0);
  if (json.contains("epochs")) {
    for (const auto& e : json["epochs"]) o.epochs.push_back(engine::epoch_record_from_json(e));
  }
  if (json.contains("partial_epoch") && json["partial_epoch"].is_object()) {
    o.partial_epoch = engine::partial_epoch_from_json(json["partial_epoch"]);
  }
  return o;
}

std::optional<TrialEvent> decode(const std::string& line) {
  const Json json = Json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object() || !json.contains("event")) return std::nullopt;
  const std::string kind = json.value("event", std::string());
  TrialEvent e{};
  try {
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
      e.progress.images_per_second = json.value("img_per_s", 0.0);
    } else if (kind == "step") {
      e.kind = TrialEvent::Kind::step;
      e.step.epoch = json.value("epoch", int64_t{0});
      e.step.step = json.value("step", int64_t{0});
      e.step.loss = json.value("loss", 0.0);
      e.step.lr = json.value("lr", 0.0);
    } else if (kind == "epoch" && json.contains("record")) {
      e.kind = TrialEvent::Kind::epoch;
      e.epoch = engine::epoch_record_from_json(json["record"]);
    } else if (kind == "end" && json.contains("outcome")) {
      e.kind = TrialEvent::Kind::end;
      e.outcome = outcome_from_json(json["outcome"]);
    } else {
      return std::nullopt;
    }
  } catch (const Json::exception&) {
    return std::nullopt;
  }
  return e;
}

}  // namespace vitsweep::runner
